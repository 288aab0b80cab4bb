"""Where the partitions' Kafka clients run their round trips: an event loop of their own, on a
thread of its own, so that a checkpoint never waits behind record processing.

A checkpoint is several round trips to the broker (produce, AddOffsetsToTxn, TxnOffsetCommit,
EndTxn), and each step of an aiokafka client resumes only when its event loop comes round. On
the worker's event loop that is after whatever fetched batch is being processed: measured
inside a busy worker, a rider partition's sends took ~760 ms and its offsets ~350 ms where the
same transaction from an idle process takes ~15 ms, and the group's committed offsets stood
still for seconds while both workers of a fleet were processing at full speed. On a thread of
their own the clients' steps wait at most for the interpreter's switch interval (5 ms), and
processing goes on meanwhile.

What crosses between the loops is plain data: a checkpoint captures its outputs, state records
and offsets on the worker's loop, with no await in between, and hands the lists over; every
client object is made, used and stopped on the client loop only.
"""

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class ClientLoop(Protocol):
    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` where the Kafka clients live and return what it returns (or raise
        what it raises)."""
        ...


class SameLoop:
    """The clients on the caller's own event loop (a single partition driven by itself, as in
    unit tests)."""

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await coro


class ClientThread:
    """An event loop on a daemon thread, started at construction, for one worker's Kafka
    clients."""

    def __init__(self, name: str = "knightwatch-clients") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the Kafka client thread has stopped")
        # Cancelling the caller cancels the coroutine on the client loop too.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the loop once what runs on it has finished its current step."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("the Kafka client thread did not stop within %.1f s", timeout_s)
