"""Orders as a state machine: an event that does not fit its order's lifecycle is dead-lettered
with the reason, never judged or penalised, and changes nothing; the rider's other orders are
decided as if it had never come."""

import pytest

from schemas import DeadLetter, GpsPing, OrderEvent
from streams.area.congestion import CongestionMap
from streams.area.weather import WeatherBook
from streams.config.thresholds import DetectionSettings
from streams.detectors.base import RiderContext
from streams.pipeline.clock import END_OF_TIME
from streams.pipeline.processor import KnightwatchCore
from streams.pipeline.rider import RiderPipeline
from streams.primitives.emissions import Emission
from streams.primitives.events import Ping
from streams.primitives.zones import ZoneMap
from tests.builders import T0, alerts, by_time, lifecycle, of, order, ride, run_core
from tests.unit.orders.helpers import delivery, delivery_ride

# The rider's genuine order: five minutes late, one decision and its late penalty. Between its
# stops the rider rides at 18 km/h, so a tap confirmed then would be phone use.
GOOD = dict(promised_s=1500, delivered_s=1800)
RIDING_S = 600.5  # the rider is moving: 18 km/h before and after


def _good() -> list:
    return delivery("o1", **GOOD)


def _finals(out: list[Emission]) -> list[str]:
    """Everything final the core said (score, decisions, subsidies), whatever order it left in."""
    return sorted(repr(e) for e in out if e.stream not in ("alerts", "dead_letters"))


def _letters(out: list[Emission]) -> list[DeadLetter]:
    return of(out, "dead_letters")


def _assert_rejected(out: list[Emission], events: list[OrderEvent], *reasons: str) -> None:
    """Exactly these events were dead-lettered, in this order, each with its reason."""
    emitted = [e for e in out if e.stream == "dead_letters"]
    assert len(emitted) == len(events) == len(reasons), [e.value.error for e in emitted]
    for emission, event, reason in zip(emitted, events, reasons, strict=True):
        letter = emission.value
        assert emission.key == letter.key == event.order_id
        assert letter.source_topic == "order-events"
        assert OrderEvent.model_validate_json(letter.raw) == event
        assert letter.error.startswith("order lifecycle: ") and reason in letter.error, (
            letter.error)


def _assert_unpenalised(out: list[Emission], clean: list[Emission]) -> None:
    """Score, decisions and subsidies are those of the run without the rejected events."""
    assert _finals(out) == _finals(clean)
    assert not [d for d in of(out, "deltas") if d.reason == "phone_use"]


def _event_time_path(events: list, settings: DetectionSettings | None = None) -> list:
    """The rider's event-time path alone (the one that scores and decides), events in
    event-time order: what it finds, without the real-time path's reminders."""
    cfg = settings or DetectionSettings()
    ctx = RiderContext("r1", cfg, ZoneMap.empty(), WeatherBook(cfg.weather),
                       CongestionMap(cfg.congestion))
    pipeline = RiderPipeline(ctx)
    out: list[Emission] = []
    for event in by_time(events):
        if isinstance(event, GpsPing):
            out += pipeline.on_ping(Ping.of(event), ctx)
        else:
            out += pipeline.on_order_event(event, ctx)
    out += pipeline.close(ctx)
    return out + pipeline.decide_delivered(END_OF_TIME, ctx)


# -- orders that were never accepted -------------------------------------------------------


def test_steps_of_an_order_never_accepted_are_dead_lettered_not_penalised():
    # Taps for an order the rider never accepted, all while riding; the delivery even carries
    # a deadline it is "late" for.
    ghost = [order("ghost", "arrived_at_merchant", RIDING_S),
             order("ghost", "picked_up", RIDING_S + 8),
             order("ghost", "delivered", RIDING_S + 16, promised_s=RIDING_S - 300),
             order("ghost", "cancelled", RIDING_S + 24)]
    out = run_core(by_time([*_good(), *ghost]))
    _assert_rejected(out, ghost, *["never accepted or created"] * 4)
    _assert_unpenalised(out, run_core(_good()))
    [decision] = of(out, "exemptions")
    assert decision.order_id == "o1" and decision.late_by_s == 300


def test_the_event_time_path_raises_no_alert_for_a_rejected_tap():
    tap = order("ghost", "picked_up", RIDING_S)
    found = _event_time_path([*_good(), tap])
    assert alerts(found) == []
    [letter] = _letters(found)
    assert "never accepted" in letter.error
    # The same tap for an accepted order is phone use.
    accepted = _event_time_path([*_good(), order("o2", "accepted", 5), tap.model_copy(
        update={"order_id": "o2"})])
    [alert] = alerts(accepted, "phone_use")
    assert alert.evidence["order_id"] == "o2"


def test_an_acceptance_arriving_after_its_pickup_is_still_first_in_event_time():
    # The acceptance is sent 40 s (arrival) after the pickup it precedes by 10 s (event time):
    # within the allowed lateness the reorder buffer puts it first.
    o2 = lifecycle("o2", accept_s=590, promised_s=2400, delivered_s=1000, arrived_s=595,
                   pickup_s=600)
    events = by_time([*_good(), *o2])
    accept = o2[0]
    arrived = [e for e in events if e is not accept]
    at = next(i for i, e in enumerate(arrived) if e.ts > accept.ts + 40_000)
    arrived.insert(at, accept)
    out = run_core(arrived)
    assert _letters(out) == []
    assert _finals(out) == _finals(run_core(events))
    assert {d.order_id for d in of(out, "exemptions")} == {"o1"}  # o2 was on time


def test_an_acceptance_after_the_pickup_in_event_time_is_too_late_for_it():
    # The pickup is tapped while riding; the acceptance and delivery at stops.
    pickup = order("o2", "picked_up", 150.5)
    o2 = [order("o2", "accepted", 175, promised_s=2400), order("o2", "delivered", 1805)]
    out = run_core(by_time([*_good(), pickup, *o2]))
    _assert_rejected(out, [pickup], "picked_up for an order rider r1 never accepted")
    _assert_unpenalised(out, run_core(by_time([*_good(), *o2])))


# -- an order gets at most one decision ---------------------------------------------------


def test_a_second_delivery_is_dead_lettered_not_decided_again():
    again = [order("o1", "delivered", 1850, promised_s=1500),
             order("o1", "picked_up", 1900)]
    out = run_core(by_time([*_good(), *again]))
    _assert_rejected(out, again, "delivered after the order was delivered at "
                     f"{T0 + 1_800_000}", "picked_up after the order was delivered")
    _assert_unpenalised(out, run_core(_good()))
    assert len(of(out, "exemptions")) == 1


def test_nothing_counts_after_a_cancellation():
    after = [order("o2", "picked_up", RIDING_S), order("o2", "delivered", 900),
             order("o2", "cancelled", 950), order("o2", "accepted", 1000, promised_s=1100)]
    # Accepted while the rider stands at the first stop, so that tap is no phone use.
    cancelled = [order("o2", "accepted", 5, promised_s=600), order("o2", "cancelled", 400)]
    out = run_core(by_time([*_good(), *cancelled, *after]))
    _assert_rejected(out, after, *["after the order was cancelled"] * 4)
    _assert_unpenalised(out, run_core(by_time([*_good(), *cancelled])))
    assert [d.order_id for d in of(out, "exemptions")] == ["o1"]


# -- deadlines ------------------------------------------------------------------------------


# 2001-09-09, within the input contract's time range; T0 is in 2026. Such a deadline used to be
# decided as 784082599 s late, with the long-lateness penalty.
YEAR_2001_S = (1_000_000_001_000 - T0) // 1000


@pytest.mark.parametrize(("promised_s", "reason"), [
    (-60, "is before the order's acceptance"),
    (YEAR_2001_S, "is before the order's acceptance"),
    (300 + 6 * 3600 + 1, "more than orders.max_promise_s (21600 s)"),
])
def test_an_acceptance_with_an_implausible_deadline_rejects_the_order(promised_s, reason):
    # Rejected at acceptance, the order is never open: its steps and delivery are rejected in
    # turn, so it can neither cost the rider points nor earn any.
    o2 = lifecycle("o2", accept_s=300, promised_s=promised_s, delivered_s=1000, pickup_s=RIDING_S)
    out = run_core(by_time([*_good(), *o2]))
    _assert_rejected(out, o2, reason, *["never accepted or created"] * 4)
    _assert_unpenalised(out, run_core(_good()))
    assert max(d.late_by_s for d in of(out, "exemptions")) == 300


def test_a_deadline_of_exactly_max_promise_s_is_judged():
    o2 = lifecycle("o2", accept_s=300, promised_s=300 + 6 * 3600, delivered_s=1000)
    out = run_core(by_time([*_good(), *o2]))
    assert _letters(out) == [] and [d.order_id for d in of(out, "exemptions")] == ["o1"]


def test_a_later_event_cannot_move_the_deadline_to_2001():
    # The hostile delivery is rejected: the order stays open and undecided.
    corrupt = order("o1", "delivered", 1800, promised_s=YEAR_2001_S)
    events = [corrupt if (getattr(e, "order_id", None), getattr(e, "type", None)) == (
        "o1", "delivered") else e for e in _good()]
    out = run_core(events)
    _assert_rejected(out, [corrupt], "is before the order's acceptance")
    assert of(out, "exemptions") == [] and of(out, "deltas") == []


def test_max_promise_s_is_a_setting():
    settings = DetectionSettings.model_validate({"orders": {"max_promise_s": 3600}})
    o2 = lifecycle("o2", accept_s=300, promised_s=300 + 5400, delivered_s=1000)
    out = run_core(by_time([*_good(), *o2]), settings=settings)
    _assert_rejected(out, o2, "5400 s after the order's acceptance", *["never accepted"] * 4)
    assert _letters(run_core(by_time([*_good(), *o2]))) == []


def test_a_deadline_from_creation_that_passed_before_the_acceptance_is_not_judged():
    # Created with a deadline, accepted (without one) after it: the rider took an order
    # already overdue and is not judged against it.
    events = by_time([*_good(), order("o2", "created", 200, promised_s=400),
                      order("o2", "accepted", 500), order("o2", "delivered", 1000)])
    out = run_core(events)
    assert _letters(out) == [] and [d.order_id for d in of(out, "exemptions")] == ["o1"]


# -- another rider's order -----------------------------------------------------------------


def test_another_riders_steps_for_an_order_are_dead_lettered_for_that_rider():
    intruder = [order("o1", "picked_up", RIDING_S, rider="r2"),
                order("o1", "delivered", RIDING_S + 8, rider="r2")]
    r2 = ride("r2", speed_kmh=20, duration_s=700, start_s=100)
    out = run_core(by_time([*_good(), *r2, *intruder]))
    _assert_rejected(out, intruder, *["rider r2 never accepted or created"] * 2)
    _assert_unpenalised(out, run_core(by_time([*_good(), *r2])))
    assert not [d for d in of(out, "deltas") if d.rider_id == "r2"]
    [decision] = of(out, "exemptions")
    assert (decision.order_id, decision.rider_id) == ("o1", "r1")


def test_an_event_of_another_rider_fed_to_this_riders_pipeline_is_rejected():
    stray = order("o1", "delivered", 1800, rider="r2")
    events = [stray if (getattr(e, "order_id", None), getattr(e, "type", None)) == (
        "o1", "delivered") else e for e in _good()]
    out = _event_time_path(events)
    [letter] = _letters(out)
    assert "delivered of rider r2 for rider r1's orders" in letter.error
    assert of(out, "exemptions") == []  # o1 still open: r1 never delivered it


# -- steps out of order ----------------------------------------------------------------------


def test_skipped_and_reordered_steps_are_tolerated():
    # Food ready before the rider arrives, the arrival tapped after the pickup, no arrival at
    # the customer, and a delivery straight after the acceptance for the second order.
    o1 = lifecycle("o1", promised_s=1500, delivered_s=1800, arrived_s=200, ready_s=150,
                   pickup_s=190)
    others = [order("o2", "accepted", 300, promised_s=2000), order("o2", "delivered", 1000),
              order("o3", "created", 400), order("o3", "delivered", 1100),
              # `created` after (or, sorted within the millisecond, just after) the acceptance
              order("o4", "accepted", 500, promised_s=2000), order("o4", "created", 500)]
    fixes = delivery_ride(duration_s=1920, stops_s=[0, 150, 190, 200, 300, 400, 500, 1000,
                                                    1100, 1800])
    out = run_core(by_time([*o1, *others, *fixes]))
    assert _letters(out) == []
    decided = {d.order_id: d.late_by_s for d in of(out, "exemptions")}
    assert decided == {"o1": 300}


def test_a_repeated_step_is_dead_lettered_so_one_tap_is_judged_once():
    again = [order("o1", "picked_up", RIDING_S), order("o1", "accepted", RIDING_S + 8,
                                                         promised_s=1900),
             order("o1", "food_ready", RIDING_S + 16)]
    out = run_core(by_time([*_good(), *again]))
    _assert_rejected(out, again, "picked_up again: the order was already picked_up at",
                     "accepted again", "food_ready again")
    _assert_unpenalised(out, run_core(_good()))
    assert [d.late_by_s for d in of(out, "exemptions")] == [300]  # the deadline stood


def test_customer_unreachable_may_repeat():
    o1 = [*lifecycle("o1", promised_s=1500, delivered_s=1800),
          order("o1", "customer_unreachable", 1600), order("o1", "customer_unreachable", 1700)]
    out = run_core(by_time(o1))
    assert _letters(out) == []
    [decision] = of(out, "exemptions")
    assert decision.evidence["customer_unreachable"]["count"] == 2


# -- the real-time path ----------------------------------------------------------------------


def test_a_rejected_tap_gets_no_real_time_reminder_either():
    out = run_core(by_time([*_good(), order("ghost", "picked_up", RIDING_S)]))
    assert alerts(out, "phone_use") == []


def test_a_refused_event_names_the_topic_it_was_read_from():
    core = KnightwatchCore()
    out = core.ingest(order("ghost", "picked_up", 10), source_topic="prod.order-events")
    out += core.close()
    [letter] = _letters(out)
    assert letter.source_topic == "prod.order-events"
