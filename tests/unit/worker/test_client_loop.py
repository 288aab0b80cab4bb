"""The Kafka clients' loop runs on its own thread: a checkpoint's round trips go on while the
worker's loop is busy processing, and what they return or raise reaches the caller."""

import asyncio
import threading
import time

import pytest

from streams.worker.client_loop import ClientThread, SameLoop


def _busy(seconds: float) -> None:
    """Processing that holds the caller's event loop (and, in turns, the interpreter)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(1000))


def test_round_trips_on_the_client_thread_finish_while_the_worker_loop_is_busy():
    clients = ClientThread()
    steps: list[str] = []

    async def checkpoint() -> str:
        for _ in range(10):  # ten round trips, each a wait on the client loop
            await asyncio.sleep(0.005)
        steps.append(threading.current_thread().name)
        return "committed"

    async def worker() -> tuple[list[str], str]:
        pending = asyncio.ensure_future(clients.run(checkpoint()))
        await asyncio.sleep(0)  # the checkpoint is handed over
        _busy(3.0)  # a batch processed without a single await
        done_while_busy = list(steps)
        return done_while_busy, await pending

    try:
        done_while_busy, result = asyncio.run(worker())
    finally:
        clients.close()
    assert done_while_busy == ["knightwatch-clients"], \
        "every round trip finished on the client thread while the worker's loop was busy"
    assert result == "committed"
    assert not clients.thread.is_alive()


def test_what_a_client_coroutine_raises_reaches_the_caller():
    clients = ClientThread()

    async def fenced() -> None:
        raise RuntimeError("fenced")

    try:
        with pytest.raises(RuntimeError, match="fenced"):
            asyncio.run(clients.run(fenced()))
    finally:
        clients.close()


def test_a_stopped_client_thread_refuses_work_instead_of_hanging():
    clients = ClientThread()
    clients.close()

    async def anything() -> int:
        return 1

    with pytest.raises(RuntimeError, match="stopped"):
        asyncio.run(clients.run(anything()))


def test_the_same_loop_runs_the_coroutine_in_place():
    async def here() -> str:
        return threading.current_thread().name

    assert asyncio.run(SameLoop().run(here())) == threading.current_thread().name
