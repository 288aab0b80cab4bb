"""Timeout exemption: is a late delivery explained by a cause outside the rider's control?

Each reason is one rule; a late order with none of them is not exempt.
"""

from schemas import OrderExemption, RiderSubsidy
from streams.area.congestion import CongestionMap
from streams.area.weather import WeatherBook
from streams.config.thresholds import DetectionSettings
from streams.orders.tracker import OrderState
from streams.primitives.ids import derived_id

REASON_ORDER = ("weather", "congestion", "merchant_delay", "customer_unreachable",
                "safety_slowdown")


def late_by_s(order: OrderState) -> int:
    if order.promised_ts is None or order.delivered_ts is None:
        return 0
    return max(0, (order.delivered_ts - order.promised_ts) // 1000)


def decide(order: OrderState, rider_id: str, city: str | None, weather: WeatherBook,
           congestion: CongestionMap, reference_kmh: float,
           settings: DetectionSettings) -> OrderExemption:
    late = late_by_s(order)
    evidence: dict[str, dict] = {}
    assert order.delivered_ts is not None and order.promised_ts is not None
    warnings = weather.severe_during(city, order.start_ts, order.delivered_ts)
    if warnings:
        w = warnings[0]
        evidence["weather"] = {"warning_id": w.warning_id, "level": w.level,
                               "condition": w.condition, "issued_ts": w.issued_ts,
                               "until_ts": w.until_ts, "temperature_c": w.temperature_c}
    cfg = settings.orders
    congested_s = 0.0
    worst = None
    for (cell, window_start), seconds in sorted(order.route.items()):
        hit = congestion.congested(cell, window_start)
        if hit is not None:
            congested_s += seconds
            if worst is None or hit.mean_kmh < worst.mean_kmh:
                worst = hit
    if worst is not None and congested_s >= cfg.congestion_explain_share * late:
        evidence["congestion"] = {"congested_s": round(congested_s, 1), "cell": worst.cell,
                                  "mean_speed_kmh": worst.mean_kmh,
                                  "usual_speed_kmh": worst.usual_kmh}
    if order.arrived_at_merchant_ts is not None and order.food_ready_ts is not None:
        wait_s = (order.food_ready_ts - order.arrived_at_merchant_ts) / 1000
        if wait_s > 0 and wait_s >= cfg.merchant_explain_share * late:
            evidence["merchant_delay"] = {"arrived_at_merchant_ts": order.arrived_at_merchant_ts,
                                          "food_ready_ts": order.food_ready_ts,
                                          "wait_s": round(wait_s, 1)}
    if order.unreachable_ts:
        evidence["customer_unreachable"] = {"first_ts": order.unreachable_ts[0],
                                            "count": len(order.unreachable_ts)}
    slowdown = _slowdown(order, reference_kmh, settings)
    if slowdown is not None and slowdown["time_lost_s"] >= cfg.slowdown_explain_share * late:
        evidence["safety_slowdown"] = slowdown
    reasons = [r for r in REASON_ORDER if r in evidence]
    return OrderExemption(
        decision_id=derived_id("exemption", order.order_id, order.delivered_ts),
        order_id=order.order_id, rider_id=rider_id, ts=order.delivered_ts,
        promised_ts=order.promised_ts, late_by_s=late, exempt=bool(reasons),
        reasons=reasons, evidence={r: evidence[r] for r in reasons})  # type: ignore[arg-type]


def _slowdown(order: OrderState, reference_kmh: float,
              settings: DetectionSettings) -> dict | None:
    if order.reminder_ts is None or order.after_s <= 0 or order.after_m <= 0:
        return None
    if order.before_s >= settings.orders.min_reference_riding_s and order.before_m > 0:
        reference_kmh = order.before_m / order.before_s * 3.6
    after_kmh = order.after_m / order.after_s * 3.6
    if after_kmh >= reference_kmh:
        return None
    time_lost = order.after_m / (after_kmh / 3.6) - order.after_m / (reference_kmh / 3.6)
    return {"reminder_alert_id": order.reminder_alert_id, "reminder_kind": order.reminder_kind,
            "reference_kmh": round(reference_kmh, 1), "after_kmh": round(after_kmh, 1),
            "time_lost_s": round(time_lost, 1)}


def subsidy(order: OrderState, rider_id: str, city: str | None,
            weather: WeatherBook) -> RiderSubsidy | None:
    """A delivery completed under a severe-weather warning earns the weather subsidy."""
    if order.delivered_ts is None:
        return None
    warning = weather.severe_at(city, order.delivered_ts)
    if warning is None:
        return None
    return RiderSubsidy(subsidy_id=derived_id("subsidy", order.order_id), rider_id=rider_id,
                        order_id=order.order_id, ts=order.delivered_ts, city=warning.city,
                        warning_level=warning.level, condition=warning.condition)
