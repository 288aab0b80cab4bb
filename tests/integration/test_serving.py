"""The Redis serving layer against a real redis-server that goes away, comes back and pauses:
processing never waits for it, nothing handed over is lost, and it catches up."""

import asyncio
import json
import signal
import time

import pytest
import redis

from schemas import RiderProfile
from streams.config.settings import load_settings
from streams.serving.layout import KeyLayout
from streams.serving.live import LiveRiders
from streams.serving.pending import Placing
from streams.worker.metrics import SERVING_FAILURES
from streams.worker.serving import ServingWriter
from tests.builders import T0, order, ping
from tests.integration.redis_server import free_port, start_redis, stop
from tests.unit.serving.helpers import alert, delta, points

pytestmark = pytest.mark.integration
NOW = T0 + 60_000
KEYS = KeyLayout("kw:")


def _writer(port: int) -> ServingWriter:
    settings = load_settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_key_prefix="kw:")
    return ServingWriter(settings, wall_ms=lambda: NOW)


def _served(port: int, rider: str, field: str = "score") -> int | None:
    value = redis.Redis(port=port).hget(KEYS.rider(rider), field)
    return None if value is None else int(value)


def test_scores_written_while_redis_is_away_arrive_when_it_returns(tmp_path):
    port = free_port()
    proc = start_redis(port, tmp_path)
    serving = _writer(port)

    async def scenario() -> None:
        nonlocal proc
        assert await serving.publish([delta("r1", 97, 1)])
        stop(proc)
        assert not await serving.publish([delta("r1", 92, 2), delta("r2", 99, 3)])
        serving.hand_over([delta("r1", 84, 4)])  # a newer score while Redis is away
        assert not await serving.flush()
        assert serving.pending.riders["r1"].fields["score"] == 84
        proc = start_redis(port, tmp_path)  # back, empty
        assert await serving.flush()
        await serving.close()

    try:
        asyncio.run(scenario())
        assert (_served(port, "r1"), _served(port, "r2")) == (84, 99)
        assert len(serving.pending) == 0 and serving.healthy
    finally:
        stop(proc)


def test_a_paused_redis_costs_a_bounded_wait_and_is_caught_up_after(tmp_path):
    port = free_port()
    proc = start_redis(port, tmp_path)
    serving = _writer(port)

    async def scenario() -> float:
        assert await serving.publish([delta("r1", 97, 1)])
        proc.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        written = await serving.publish([delta("r1", 90, 2)])
        waited = time.monotonic() - started
        assert not written and serving.pending.riders["r1"].fields["score"] == 90
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
        stop(proc)


def test_redis_stopped_mid_stream_loses_nothing_handed_over_and_catches_up(tmp_path):
    """Scores, balances, alerts, order steps, certification and positions keep coming while
    Redis is stopped; handing them over never waits; each failed write is counted; the
    waiting data stays one entry per rider; once Redis is back, all of it is served."""
    port = free_port()
    proc = start_redis(port, tmp_path)
    serving = _writer(port)
    riders = [f"r{i}" for i in range(20)]
    failures_before = SERVING_FAILURES._value.get()

    async def scenario() -> None:
        nonlocal proc
        assert await serving.flush()
        stop(proc)
        # Handing over is synchronous, so it cannot wait for Redis, stopped or not.
        assert not any(asyncio.iscoroutinefunction(f) for f in (
            serving.hand_over, serving.hand_over_live, serving.hand_over_profile))
        for n in range(200):
            rider = riders[n % len(riders)]
            serving.hand_over([delta(rider, 100 - n // 20, n), alert(rider, n),
                               points(rider, 10 * (n // 20 + 1), n)],
                              {rider: Placing("shanghai", True)}.get)
            live = LiveRiders()
            live.on_fix(ping(rider, 60 - n * 0.01 if n < 20 else 50))
            live.on_order(order(f"o-{rider}", "accepted" if n < 100 else "delivered", n,
                                rider=rider))
            if n == 0:
                serving.hand_over_profile(RiderProfile(rider_id="r0", first_aid_certified=True,
                                                       certified_until=NOW + 86_400_000),
                                          (0, 0))
            serving.hand_over_live(live)
            if n % 50 == 0:
                assert not await serving.flush()
        assert len(serving.pending) == len(riders)
        proc = start_redis(port, tmp_path)
        assert await serving.flush()
        await serving.close()

    try:
        asyncio.run(scenario())
        client = redis.Redis(port=port)
        for i, rider in enumerate(riders):
            last = 180 + i  # the rider's last record of the 200
            assert _served(port, rider) == 100 - last // 20
            assert _served(port, rider, "points") == 10 * (last // 20 + 1)
            alerts = client.lrange(KEYS.alerts(rider), 0, -1)
            assert len(alerts) == 10 and b'"a%d"' % last in alerts[0]
            assert client.scard(KEYS.open_orders(rider)) == 0  # delivered
            assert client.zscore(KEYS.leaderboard("shanghai"), rider) is not None
        assert client.geopos(KEYS.positions, "r0")[0] is not None
        assert SERVING_FAILURES._value.get() - failures_before >= 4
        assert serving.healthy and len(serving.pending) == 0
    finally:
        stop(proc)


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

    port = free_port()
    proc = start_redis(port, tmp_path)
    fleet = Fleet(tmp_path)
    fleet.env["KNIGHTWATCH_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    try:
        fleet.create_topics()  # inside: a broker that is away must not leave Redis running
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
        stop(proc)
        fleet.delete_topics()


def test_a_redis_that_restarts_empty_is_written_again_from_what_the_worker_holds(tmp_path):
    port = free_port()
    proc = start_redis(port, tmp_path)
    clock = [NOW]
    settings = load_settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_key_prefix="kw:")
    serving = ServingWriter(settings, wall_ms=lambda: clock[0])
    in_memory = [delta("r1", 88, 1), points("r1", 40, 2)]  # what the riders' state says
    serving.on_redis_reset = lambda: serving.hand_over(in_memory,
                                                          {"r1": Placing("shanghai", True)}.get)

    async def scenario() -> None:
        nonlocal proc
        assert await serving.publish(in_memory)
        serving.hand_over_profile(RiderProfile(rider_id="medic", first_aid_certified=True,
                                               certified_until=NOW + 86_400_000), (0, 0))
        assert await serving.flush()
        stop(proc)
        proc = start_redis(port, tmp_path)  # back at once, empty
        clock[0] += int(settings.serving.certified_refresh_s * 1000)  # a periodic check
        # The first command may find its connection closed (a failed write, counted); the
        # flush after it checks the server at once and writes everything again.
        written = [await serving.flush() for _ in range(2)]
        assert written[-1]
        await serving.close()

    try:
        asyncio.run(scenario())
        client = redis.Redis(port=port)
        assert _served(port, "r1") == 88 and _served(port, "r1", "points") == 40
        assert client.zscore(KEYS.leaderboard("shanghai"), "r1") is not None
        assert client.hget(KEYS.certified, "medic") is not None
    finally:
        stop(proc)
