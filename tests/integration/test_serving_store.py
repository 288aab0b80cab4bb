"""The serving layer's Redis data over time, on a throw-away redis-server: a month of a city's
leaderboard, and balances after redemptions the ledger grants or refuses."""

import asyncio

import orjson
import pytest

from streams.config.settings import load_settings
from streams.config.thresholds import Scoring
from streams.scoring.safety_points import SafetyPoints
from streams.serving.pending import Placing
from streams.worker.serving import ServingWriter
from tests.builders import T0, redemption
from tests.integration.redis_server import free_port, start_redis, stop
from tests.unit.serving.helpers import TOPICS, delta, points

pytestmark = pytest.mark.integration
DAY_MS = 86_400_000


@pytest.fixture
def redis_port(tmp_path):
    port = free_port()
    proc = start_redis(port, tmp_path)
    yield port
    stop(proc)


def _writer(port: int, clock: list[int]) -> ServingWriter:
    settings = load_settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_key_prefix="kw:")
    return ServingWriter(settings, wall_ms=lambda: clock[0])


def test_a_months_leaderboard_ranks_each_citys_eligible_riders_by_final_score_then_points(
        redis_port):
    riders = {f"sh-{i}": "shanghai" for i in range(5)} | {f"bj-{i}": "beijing" for i in range(3)}
    riders["mover"] = "beijing"
    clock = [T0]

    def day_scores(day: int) -> dict[str, tuple[int, int]]:
        # Each rider's score and balance after the day: penalties now and then, points daily.
        return {rider: (100 - (day * (i + 1)) % 17, 10 * day * (i % 3 + 1))
                for i, rider in enumerate(sorted(riders))}

    def eligible(rider: str, day: int) -> bool:
        # As the rider partition judges it: sh-1 was penalised in the period from day 20 on,
        # sh-3 has too few deliveries until day 25; others qualify.
        return not ((rider == "sh-1" and day >= 20) or (rider == "sh-3" and day < 25))

    async def month() -> tuple:
        writer = _writer(redis_port, clock)
        n = 0
        for day in range(1, 31):
            if day == 15:
                riders["mover"] = "shanghai"
            for rider, (score, balance) in day_scores(day).items():
                n += 1
                placing = Placing(riders[rider], eligible(rider, day))
                writer.hand_over([delta(rider, score, n), points(rider, balance, n)],
                                 lambda _, placing=placing: placing)
            clock[0] = T0 + day * DAY_MS
            assert await writer.flush()
        boards = (await writer.store.leaderboard("shanghai", 10),
                  await writer.store.leaderboard("beijing", 10),
                  await writer.store.leaderboard("shanghai", 3))
        await writer.close()
        return boards

    shanghai, beijing, top3 = asyncio.run(month())
    final = day_scores(30)
    expected = sorted((r for r, city in riders.items()
                       if city == "shanghai" and eligible(r, 30)),
                      key=lambda r: (final[r][0], final[r][1]), reverse=True)
    assert "sh-1" not in expected and "sh-3" in expected
    assert [e.rider_id for e in shanghai.riders] == expected
    assert [(e.score, e.points) for e in shanghai.riders] == [final[r] for r in expected]
    assert [e.rank for e in shanghai.riders] == list(range(1, len(expected) + 1))
    assert "mover" in expected and "mover" not in [e.rider_id for e in beijing.riders]
    assert [e.rider_id for e in top3.riders] == expected[:3]


def test_the_served_balance_follows_a_granted_and_a_refused_redemption(redis_port):
    cfg = Scoring()
    ledger = SafetyPoints("r1")
    changes = []
    for n in range(3):
        changes += ledger.on_delivery(f"o{n}", T0 + n, safe=True, severe_weather=False, cfg=cfg)
    changes += ledger.on_redemption(redemption("enough", 20, 10), cfg)
    changes += ledger.on_redemption(redemption("too-many", 50, 20), cfg)
    assert [c.reason for c in changes][-2:] == ["redemption", "redemption_refused"]
    outputs = [(TOPICS.points, b"r1", orjson.dumps(c.model_dump(mode="json")), None)
               for c in changes]
    clock = [T0 + 60_000]

    async def serve():
        writer = _writer(redis_port, clock)
        assert await writer.publish(outputs)
        view = await writer.store.rider("r1")
        await writer.close()
        return view

    view = asyncio.run(serve())
    assert view.points == 3 * cfg.safe_delivery_points - 20 == ledger.balance
