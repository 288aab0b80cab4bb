"""Safety points in the core: a redemption is decided with the deliveries before it in event
time, whatever order their records arrive in, and one waiting for them survives a restore."""

from streams.area.judge import AreaJudgement
from streams.config.settings import load_settings
from streams.pipeline.clock import END_OF_TIME
from streams.pipeline.processor import KnightwatchCore
from streams.pipeline.rider import RiderPipeline
from streams.primitives.snapshot import dumps, loads
from tests.builders import T0, of, redemption, run_core
from tests.unit.orders.helpers import delivery

SETTINGS = load_settings().detection
EARNED = SETTINGS.scoring.safe_delivery_points


def _safe_delivery() -> list:
    return delivery("o1", "r1", promised_s=600, delivered_s=100, arrived_s=20, ready_s=40,
                    speed_kmh=8)


def _points(out) -> list[tuple[str, int, int]]:
    return [(c.reason, c.points, c.balance) for c in of(out, "points")]


def test_a_redemption_arriving_before_the_delivery_that_earned_its_points_still_goes_through():
    spend = redemption("rd-1", EARNED, 150)
    in_order = _points(run_core([*_safe_delivery(), spend]))
    first = _points(run_core([spend, *_safe_delivery()]))
    assert in_order == first == [("safe_delivery", EARNED, EARNED), ("redemption", -EARNED, 0)]


def test_a_redemption_before_the_delivery_in_event_time_is_refused_whatever_arrives_first():
    early = redemption("rd-1", EARNED, 50)  # the delivery is at 100 s
    assert _points(run_core([*_safe_delivery(), early]))[0][0] == "redemption_refused"


def test_a_redemption_waiting_for_its_deliveries_survives_a_restore():
    # A fleet's rider partition: deliveries are decided once the congestion judges have
    # settled their areas, and none has yet.
    fleet = {"area_source": 0, "area_judges": 1}
    core = KnightwatchCore(SETTINGS, **fleet)
    ridden_on = delivery("o1", "r1", promised_s=600, delivered_s=100, arrived_s=20, ready_s=40,
                         speed_kmh=8, ride_until_s=900)
    for event in sorted([*ridden_on, redemption("rd-1", EARNED, 150)], key=lambda e: e.ts):
        core.ingest(event)
    core.advance()
    assert core.riders["r1"].pipeline.redemptions, "released, waiting for the judges"
    riders = {r: loads(dumps(core.rider_snapshot(r))) for r in core.riders}
    restored = KnightwatchCore.restore(loads(dumps(core.snapshot())), riders, SETTINGS,
                                       **fleet)
    # The input ends and the judge settles every area: the delivery, then the redemption,
    # are decided.
    assert _points(restored.close()) == []
    decided = restored.on_judgement(AreaJudgement(0, END_OF_TIME, ()))
    assert _points(decided) == [("safe_delivery", EARNED, EARNED), ("redemption", -EARNED, 0)]


def test_a_rider_snapshot_from_before_safety_points_restores_with_none():
    pipeline_v2 = run_rider_snapshot()
    v1 = {k: v for k, v in pipeline_v2.items() if k not in ("points", "redemptions")}
    restored = RiderPipeline.restore({**v1, "v": 1})
    assert restored.points.balance == 0 and restored.redemptions == []


def run_rider_snapshot() -> dict:
    core = KnightwatchCore(SETTINGS)
    for event in _safe_delivery():
        core.ingest(event)
    return core.riders["r1"].pipeline.snapshot()


def test_points_are_dated_by_their_cause():
    out = run_core([*_safe_delivery(), redemption("rd-1", EARNED, 150)])
    assert [c.ts for c in of(out, "points")] == [T0 + 100_000, T0 + 150_000]
