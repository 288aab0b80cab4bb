"""Safe riding days in the core: a day's points are decided once the day is final in event
time (or the input ends), whatever order its records arrived in; a penalised alert or too
little riding earns none; a rider out of memory still has their day decided."""

import random

from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from streams.pipeline.rider import RiderPipeline
from streams.primitives.ids import derived_id
from tests.builders import T0, by_time, of, redemption, review, ride, run_core

SETTINGS = DetectionSettings.model_validate(
    {"scoring": {"safe_riding_day_min_riding_s": 1200}})
EARNED = SETTINGS.scoring.safe_riding_day_points
HOUR_S = 3600
MIDNIGHT_S = 14 * HOUR_S  # T0 is 10:00 in Shanghai
MIDNIGHT = T0 + MIDNIGHT_S * 1000
FAR = (31.30, 121.30)  # another rider, far from the first


def _morning(rider: str = "r1", minutes: float = 30, speeding: bool = False) -> list:
    speeds = [18.0] * int(minutes * 15 + 1)
    if speeding:
        speeds[100:110] = [40.0] * 10
    return ride(rider, duration_s=minutes * 60, speed_kmh=speeds)


def _night(from_s: float = MIDNIGHT_S - 2 * HOUR_S, until_s: float = MIDNIGHT_S + 2400) -> list:
    """Another rider keeps event time moving from late evening past midnight (far enough past
    it for the lateness, the idle wait and the settling time)."""
    return [f for f in ride("night", start_s=MIDNIGHT_S - 2 * HOUR_S,
                            duration_s=2 * HOUR_S + 2400, every_s=20, start=FAR)
            if from_s * 1000 <= f.ts - T0 < until_s * 1000]


def _feed(core: KnightwatchCore, events: list) -> list:
    out = []
    for event in events:
        out += core.ingest(event)
        out += core.advance()
    return out


def _day_points(out, rider: str = "r1") -> list:
    return [(c.ref, c.points, c.ts) for c in of(out, "points")
            if c.reason == "safe_riding_day" and c.rider_id == rider]


def test_a_safe_day_earns_its_points_once_it_is_final_and_not_before():
    core = KnightwatchCore(SETTINGS)
    before = _feed(core, _morning() + _night(until_s=MIDNIGHT_S + 60))
    assert _day_points(before) == [], "the day is over, but records of it may still come"
    after = _feed(core, _night(from_s=MIDNIGHT_S + 60))
    [change] = [c for c in of(after, "points") if c.rider_id == "r1"]
    assert (change.reason, change.ref, change.points, change.balance, change.ts) == (
        "safe_riding_day", "2026-07-15", EARNED, EARNED, MIDNIGHT)
    assert change.change_id == derived_id("points", "day", "r1", "2026-07-15")
    assert _day_points(core.close()) == []


def test_the_end_of_input_decides_the_day_in_progress():
    assert _day_points(run_core(_morning(), SETTINGS)) == [("2026-07-15", EARNED, MIDNIGHT)]


def test_a_day_with_a_penalised_alert_or_too_little_riding_earns_nothing():
    speeding = run_core(_morning(speeding=True), SETTINGS)
    assert [a.kind for a in of(speeding, "alerts")] == ["speeding"]
    assert _day_points(speeding) == []
    assert _day_points(run_core(_morning(minutes=15), SETTINGS)) == []


def test_a_penalised_alert_dismissed_that_day_no_longer_counts_against_it():
    speeding = run_core(_morning(speeding=True), SETTINGS)
    [alert] = of(speeding, "alerts")
    dismissed = run_core([*_morning(speeding=True), review(alert.alert_id, "dismissed", 1900)],
                         SETTINGS)
    assert _day_points(dismissed) == [("2026-07-15", EARNED, MIDNIGHT)]


def test_a_dismissal_dated_after_the_day_leaves_its_points_but_not_the_role_model_period():
    core = KnightwatchCore(SETTINGS)
    out = _feed(core, _morning(speeding=True))
    [alert] = of(out, "alerts")
    assert core.standing("r1", MIDNIGHT - 1).penalised_alerts == 1  # type: ignore[union-attr]
    # The next morning, before anyone else's record has moved event time past midnight.
    out += _feed(core, [review(alert.alert_id, "dismissed", MIDNIGHT_S + 60)])
    out += _feed(core, _night()) + core.close()
    assert _day_points(out) == []
    assert core.standing("r1", MIDNIGHT + 1).penalised_alerts == 0  # type: ignore[union-attr]


def test_day_points_do_not_depend_on_arrival_order_and_a_later_redemption_spends_them():
    events = by_time([*_morning(), *_night(), redemption("rd-1", EARNED, MIDNIGHT_S + 30)])

    def points(out) -> list[tuple[str, int, int]]:
        return [(c.reason, c.points, c.balance) for c in of(out, "points") if c.rider_id == "r1"]

    baseline = points(run_core(events, SETTINGS))
    assert baseline == [("safe_riding_day", EARNED, EARNED), ("redemption", -EARNED, 0)]
    for seed in range(5):
        rng = random.Random(seed)
        # Each record up to four minutes late (within the five-minute lateness).
        shuffled = [e for _, _, e in sorted((e.ts + rng.randrange(240_000), i, e)
                                            for i, e in enumerate(events))]
        assert points(run_core(shuffled, SETTINGS)) == baseline


def test_a_rider_out_of_memory_has_their_day_decided_at_its_end_and_stays_out():
    core = KnightwatchCore(SETTINGS)
    _feed(core, _morning() + _night(until_s=MIDNIGHT_S - 600))
    assert "r1" not in core.riders and "r1" in core.evicted
    after = _feed(core, _night(from_s=MIDNIGHT_S - 600))
    assert _day_points(after) == [("2026-07-15", EARNED, MIDNIGHT)]
    assert "r1" not in core.riders and "r1" in core.evicted
    standing = core.standing("r1", MIDNIGHT + 1)
    assert standing is not None and standing.points == EARNED


def test_a_day_ends_at_midnight_in_the_riders_city_zone():
    dublin = DetectionSettings.model_validate(
        {"scoring": {"safe_riding_day_min_riding_s": 1200},
         "cities": {"time_zones": {"dublin": "Europe/Dublin"}}})
    fixes = [f.model_copy(update={"city": "dublin"}) for f in _morning()]
    # T0 is 03:00 in Dublin (summer time, UTC+1): the day ends 21 hours later.
    assert _day_points(run_core(fixes, dublin), "r1") == [
        ("2026-07-15", EARNED, T0 + 21 * HOUR_S * 1000)]


def test_a_rider_snapshot_from_before_riding_days_restores_with_none():
    core = KnightwatchCore(SETTINGS)
    _feed(core, _morning())
    v3 = core.riders["r1"].pipeline.snapshot()
    v2 = {k: v for k, v in v3.items() if k != "days"}
    restored = RiderPipeline.restore({**v2, "v": 2})
    assert restored.days.untouched()
    assert restored.score.score == core.riders["r1"].pipeline.score.score
