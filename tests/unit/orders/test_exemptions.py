import pytest

from streams.config.thresholds import DetectionSettings
from streams.primitives.geo import offset
from tests.builders import ORIGIN, alerts, by_time, of, order, ride, run_core, weather
from tests.unit.orders.helpers import delivery

LATE = dict(promised_s=1500, delivered_s=1800)  # 5 minutes late


def _decision(out):
    [decision] = of(out, "exemptions")
    return decision


def test_on_time_order_gets_no_decision_and_earns_recovery():
    settings = DetectionSettings.model_validate({"scoring": {"start_score": 95}})
    out = run_core(delivery(promised_s=1800, delivered_s=1500), settings=settings)
    assert of(out, "exemptions") == []
    [delta] = of(out, "deltas")
    assert (delta.delta, delta.ref, delta.reason) == (1, "o1", "safe_delivery")


def test_late_order_without_a_reason_is_not_exempt_and_costs_points():
    out = run_core(delivery(**LATE))
    decision = _decision(out)
    assert (decision.exempt, decision.reasons, decision.late_by_s) == (False, [], 300)
    [delta] = of(out, "deltas")
    assert delta.delta == -2 and delta.ref == "o1" and delta.reason == "late_delivery"


def test_merchant_delay_alone():
    # Food ready 10 minutes after the rider arrived: the wait covers the 5 minutes of lateness.
    out = run_core(delivery(**LATE, arrived_s=120, ready_s=720))
    decision = _decision(out)
    assert decision.exempt and decision.reasons == ["merchant_delay"]
    assert decision.evidence["merchant_delay"]["wait_s"] == 600
    assert [d for d in of(out, "deltas") if d.delta < 0] == []  # exempt: never a loss


def test_a_short_merchant_wait_does_not_explain_a_long_delay():
    out = run_core(delivery(promised_s=1200, delivered_s=2400, arrived_s=120, ready_s=300))
    assert _decision(out).reasons == []


def test_customer_unreachable_alone():
    out = run_core(delivery(**LATE, unreachable_s=1700))
    assert _decision(out).reasons == ["customer_unreachable"]


def test_weather_alone_and_the_subsidy():
    events = by_time([weather(-600, level="orange", condition="rainstorm", minutes=90),
                      *delivery(**LATE)])
    out = run_core(events)
    decision = _decision(out)
    assert decision.exempt and decision.reasons[0] == "weather"
    assert decision.evidence["weather"]["level"] == "orange"
    [subsidy] = of(out, "subsidies")
    assert (subsidy.order_id, subsidy.warning_level, subsidy.condition) == (
        "o1", "orange", "rainstorm")
    assert all(d.delta > 0 for d in of(out, "deltas"))


def test_heat_at_37_degrees_counts_as_severe():
    events = by_time([weather(-600, level="yellow", condition="high_temperature",
                              minutes=90, temperature_c=38.0), *delivery(**LATE)])
    assert "weather" in _decision(run_core(events)).reasons


def test_a_blue_warning_is_not_severe():
    events = by_time([weather(-600, level="blue", condition="rain", minutes=90),
                      *delivery(**LATE)])
    out = run_core(events)
    assert _decision(out).reasons == [] and of(out, "subsidies") == []


def test_safety_slowdown_after_a_speeding_reminder():
    # The rider speeds (a penalised alert), then rides at 12 km/h instead of 18: slower riding
    # after the reminder explains the lateness, so the lateness costs nothing extra.
    events = delivery(promised_s=1700, delivered_s=2000, slow_after_s=600, slow_kmh=9)
    speeding = ride("r1", start_s=400, duration_s=60, speed_kmh=40, every_s=4,
                    start=offset(*ORIGIN, 0, 1500))
    merged = by_time([e for e in events if not (hasattr(e, "lat") and 400_000 <=
                                                e.ts - events[0].ts <= 460_000)] + speeding)
    out = run_core(merged)
    assert len(alerts(out, "speeding")) == 1
    decision = _decision(out)
    assert "safety_slowdown" in decision.reasons
    assert decision.evidence["safety_slowdown"]["reminder_kind"] == "speeding"
    reasons = [d.reason for d in of(out, "deltas")]
    assert "late_delivery" not in reasons and reasons.count("speeding") == 1


def test_reasons_combine():
    events = by_time([weather(-600, minutes=90), *delivery(**LATE, arrived_s=120, ready_s=720,
                                                           unreachable_s=1700)])
    decision = _decision(run_core(events))
    assert decision.reasons == ["weather", "merchant_delay", "customer_unreachable"]
    assert set(decision.evidence) == set(decision.reasons)


def test_cancelled_orders_end_quietly():
    events = by_time([order("o9", "accepted", 0, promised_s=600), order("o9", "cancelled", 60),
                      *ride(start_s=120, duration_s=1200)])
    out = run_core(events)
    assert of(out, "exemptions") == [] and of(out, "deltas") == []


@pytest.mark.parametrize("arrangement", ["orders_first", "orders_late"])
def test_order_events_before_or_after_their_fixes_give_the_same_decision(arrangement):
    events = delivery(**LATE, arrived_s=120, ready_s=720)
    orders = [e for e in events if hasattr(e, "order_id")]
    fixes = [e for e in events if not hasattr(e, "order_id")]
    # Order events arrive four minutes (event time) before, or after, the fixes around them.
    shift = -240_000 if arrangement == "orders_first" else 240_000
    keyed = [(e.ts, 0, e) for e in fixes] + [(e.ts + shift, 1, e) for e in orders]
    arrived = [e for _, _, e in sorted(keyed, key=lambda k: (k[0], k[1]))]
    assert _decision(run_core(arrived)) == _decision(run_core(events))
    assert run_core(arrived) and sorted(map(repr, run_core(arrived))) == sorted(
        map(repr, run_core(events)))


def _crawling_crowd() -> list:
    # Four riders crawl back and forth at walking pace on the street the courier starts on.
    crowd = []
    for r in range(4):
        for leg in range(16):
            crowd += ride(f"crowd{r}", start_s=leg * 120, duration_s=116, every_s=4,
                          speed_kmh=4, heading_deg=90 if leg % 2 == 0 else 270)
    return crowd


def test_congestion_alone():
    # The courier crawls through the jammed cells with the fleet and is late.
    late = dict(promised_s=1600, delivered_s=1800)
    decision = _decision(run_core(by_time([*_crawling_crowd(), *delivery(**late, speed_kmh=4)])))
    assert decision.reasons == ["congestion"]
    evidence = decision.evidence["congestion"]
    assert evidence["congested_s"] >= 0.5 * decision.late_by_s
    assert evidence["mean_speed_kmh"] < 0.5 * evidence["usual_speed_kmh"]


def test_congestion_and_merchant_delay_together():
    late = dict(promised_s=1600, delivered_s=1800)
    events = by_time([*_crawling_crowd(),
                      *delivery(**late, speed_kmh=4, arrived_s=120, ready_s=720)])
    assert _decision(run_core(events)).reasons == ["congestion", "merchant_delay"]


def test_a_crawl_elsewhere_does_not_explain_lateness():
    far = [e.model_copy(update={"lat": e.lat + 0.05}) for e in _crawling_crowd()]
    late = dict(promised_s=1600, delivered_s=1800)
    assert _decision(run_core(by_time([*far, *delivery(**late, speed_kmh=4)]))).reasons == []
