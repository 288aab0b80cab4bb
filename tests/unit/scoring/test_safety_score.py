from streams.config.thresholds import DetectionSettings
from tests.builders import alerts, by_time, of, review, ride, run_core
from tests.unit.orders.helpers import delivery

SPEEDING = [18.0] * 5 + [40.0] * 20 + [18.0] * 5


def _later(event, ms: int):
    update = {"ts": event.ts + ms}
    if getattr(event, "promised_ts", None) is not None:
        update["promised_ts"] = event.promised_ts + ms
    return event.model_copy(update=update)


def test_a_clean_rider_with_three_on_time_orders_earns_a_delta_per_order():
    settings = DetectionSettings.model_validate({"scoring": {"start_score": 90}})
    events = []
    for i in range(3):
        events += [_later(e, i * 3600_000)
                   for e in delivery(f"o{i}", promised_s=1800, delivered_s=1200)]
    out = run_core(by_time(events), settings=settings)
    assert alerts(out) == []
    deltas = of(out, "deltas")
    assert [(d.ref, d.delta, d.reason) for d in deltas] == [
        ("o0", 1, "safe_delivery"), ("o1", 1, "safe_delivery"), ("o2", 1, "safe_delivery")]
    assert deltas[-1].score == 93 and deltas[-1].tier == "A"


def test_the_score_never_exceeds_its_cap():
    out = run_core(delivery(promised_s=1800, delivered_s=1200))
    assert of(out, "deltas") == []  # already at 100


def test_a_dismissed_alert_is_compensated_once_even_if_the_review_is_duplicated():
    rides = ride(speed_kmh=SPEEDING, duration_s=120)
    [alert] = alerts(run_core(rides))
    dismissal = review(alert.alert_id, "dismissed", 600)
    again = review(alert.alert_id, "dismissed", 900)  # a second, distinct review record
    out = run_core(by_time([*rides, dismissal, dismissal, again]))
    deltas = of(out, "deltas")
    assert [(d.reason, d.delta, d.ref) for d in deltas] == [
        ("speeding", -8, alert.alert_id), ("alert_dismissed", 8, alert.alert_id)]
    assert deltas[-1].score == 100


def test_a_dismissal_arriving_before_its_alert_still_compensates():
    rides = ride(speed_kmh=SPEEDING, duration_s=120)
    [alert] = alerts(run_core(rides))
    early = review(alert.alert_id, "dismissed", 30)  # reviewed (event time) mid-episode
    deltas = of(run_core(by_time([*rides, early])), "deltas")
    assert [d.delta for d in deltas] == [-8, 8]


def test_upheld_reviews_change_nothing():
    rides = ride(speed_kmh=SPEEDING, duration_s=120)
    [alert] = alerts(run_core(rides))
    deltas = of(run_core(by_time([*rides, review(alert.alert_id, "upheld", 600)])), "deltas")
    assert [d.delta for d in deltas] == [-8]


def test_info_alerts_and_fatigue_cost_nothing_and_tiers_follow_the_score():
    settings = DetectionSettings.model_validate({"scoring": {"penalty_critical": 20}})
    speeding_twice = SPEEDING + [18.0] * 40 + SPEEDING
    out = run_core(ride(speed_kmh=speeding_twice, duration_s=4 * 100), settings=settings)
    assert [(d.score, d.tier) for d in of(out, "deltas")] == [(80, "B"), (60, "C")]


def test_bookkeeping_is_bounded_by_the_review_window():
    from streams.config.thresholds import Scoring
    from streams.scoring.safety_score import SafetyScore

    cfg = Scoring(start_score=50, memory_days=1)
    score = SafetyScore("r1", cfg)
    day_ms = 86_400_000
    for i in range(600):  # ten days of deltas, one every 24 minutes
        ts = 1_784_080_800_000 + i * day_ms // 60
        assert score.apply(f"d{i}", ts, 1 if i % 2 else -1, "x", f"a{i}", cfg) is not None
    assert len(score._applied) < 300
    assert "d599" in score._applied and "d0" not in score._applied
    assert score.apply("d599", 0, 1, "x", "a", cfg) is None  # recent ids still apply once
