"""The Redis serving layer against a real redis-server that goes away, comes back and pauses:
processing never waits for it, and it catches up with every rider's latest score."""

import asyncio
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from streams.worker.serving import ScoreServing

pytestmark = pytest.mark.integration
DELTAS = "deltas"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(port: int, workdir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            if client.ping():
                return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()  # by the pid it was started with
    proc.wait(timeout=10)


def _delta(rider: str, score: int, n: int) -> tuple:
    value = {"delta_id": f"d{n}", "rider_id": rider, "ts": n, "score": score, "tier": "A"}
    return (DELTAS, rider.encode(), json.dumps(value).encode(), 0)


def _served(port: int, rider: str) -> int | None:
    value = redis.Redis(port=port).hget(f"kw:{rider}", "score")
    return None if value is None else int(value)


def test_scores_written_while_redis_is_away_arrive_when_it_returns(tmp_path):
    port = _free_port()
    proc = _start_redis(port, tmp_path)
    serving = ScoreServing(f"redis://127.0.0.1:{port}/0", DELTAS, "kw:")

    async def scenario() -> None:
        nonlocal proc
        assert await serving.publish([_delta("r1", 97, 1)])
        _stop(proc)
        assert not await serving.publish([_delta("r1", 92, 2), _delta("r2", 99, 3)])
        serving.hand_over([_delta("r1", 84, 4)])  # a newer score while Redis is away
        assert not await serving.flush()
        assert serving.pending["r1"]["score"] == 84 and "r2" in serving.pending
        proc = _start_redis(port, tmp_path)  # back, empty
        assert await serving.flush()
        await serving.close()

    try:
        asyncio.run(scenario())
        assert (_served(port, "r1"), _served(port, "r2")) == (84, 99)
        assert serving.pending == {} and serving.healthy
    finally:
        _stop(proc)


def test_a_paused_redis_costs_a_bounded_wait_and_is_caught_up_after(tmp_path):
    port = _free_port()
    proc = _start_redis(port, tmp_path)
    serving = ScoreServing(f"redis://127.0.0.1:{port}/0", DELTAS, "kw:")

    async def scenario() -> float:
        assert await serving.publish([_delta("r1", 97, 1)])
        proc.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        written = await serving.publish([_delta("r1", 90, 2)])
        waited = time.monotonic() - started
        assert not written and serving.pending["r1"]["score"] == 90
        proc.send_signal(signal.SIGCONT)
        assert await serving.flush()
        await serving.close()
        return waited

    try:
        waited = asyncio.run(scenario())
        assert waited < 10  # the write gave up; it did not hang while Redis was paused
        assert _served(port, "r1") == 90
    finally:
        proc.send_signal(signal.SIGCONT)
        _stop(proc)


def _readyz(port: int) -> tuple[int, dict]:
    from urllib.error import HTTPError
    from urllib.request import urlopen

    try:
        with urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:
            return r.status, json.loads(r.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _until(probe, want: int, timeout_s: float = 90) -> dict:
    started, last = time.monotonic(), None
    while time.monotonic() - started < timeout_s:
        try:
            status, last = probe()
            if status == want:
                return last
        except OSError:  # the web server is not up yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"/readyz never answered {want}; last {last}")


def test_a_worker_is_not_ready_while_its_redis_is_frozen(tmp_path):
    from tests.integration.fleet import Fleet

    port = _free_port()
    proc = _start_redis(port, tmp_path)
    fleet = Fleet(tmp_path)
    fleet.env["KNIGHTWATCH_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    fleet.create_topics()
    try:
        fleet.start_worker(0)
        ready = _until(lambda: _readyz(fleet.web_port(0)), 200)
        assert ready["broker"] and ready["redis"] and ready["assigned_partitions"] > 0
        proc.send_signal(signal.SIGSTOP)
        frozen = _until(lambda: _readyz(fleet.web_port(0)), 503)
        assert frozen["broker"] and not frozen["redis"]
        proc.send_signal(signal.SIGCONT)
        _until(lambda: _readyz(fleet.web_port(0)), 200)
    finally:
        proc.send_signal(signal.SIGCONT)
        fleet.stop_all()
        fleet.delete_topics()
        _stop(proc)
