"""An order tracker rebuilt from its snapshot carries on exactly as the one that was running."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from schemas import GpsPing, OrderEvent
from streams.area.congestion import CongestionMap
from streams.config.thresholds import Congestion
from streams.orders.tracker import OrderState, OrderTracker
from streams.primitives.fix import Fix
from streams.primitives.snapshot import SnapshotError, dumps, loads
from tests.builders import T0, by_time, lifecycle, order
from tests.unit.orders.helpers import delivery

_AREA = CongestionMap(Congestion())  # only for the cell and window of each fix


@dataclass(frozen=True)
class _Reminder:
    ts: int
    alert_id: str
    kind: str = "speeding"


@dataclass(frozen=True)
class _Forget:
    ts: int
    older_than: int


def _at(t_s: float) -> int:
    return T0 + int(t_s * 1000)


def _script() -> list:
    """Two overlapping deliveries, a cancelled order, an abandoned one that ages out, a
    reminder mid-way, and the rider's fixes throughout, in event-time order."""
    return by_time([
        *delivery("o1", promised_s=1500, delivered_s=1800, ride_until_s=2600),
        *lifecycle("o2", accept_s=600, promised_s=2000, delivered_s=2500),
        order("o2", "arrived_at_customer", 2400),
        order("o3", "accepted", 700), order("o3", "cancelled", 900),
        order("o4", "accepted", 100),
        _Reminder(_at(1000), "a1"),
        _Reminder(_at(1900), "a2", "severe_weather"),
        _Forget(_at(2100), older_than=_at(200)),
    ])


def _fix(ping: GpsPing) -> Fix:
    return Fix(ping.ts, ping.lat, ping.lon, ping.speed_kmh, "device", ping.speed_kmh,
               ping.heading_deg, ping.heading_deg, ping.city)


def _feed(tracker: OrderTracker, step: object) -> object:
    """Apply one step; what the tracker says back (a delivered order) is its output."""
    if isinstance(step, OrderEvent):
        return tracker.on_order_event(step)
    if isinstance(step, GpsPing):
        fix = _fix(step)
        tracker.on_fix(fix, _AREA.cell_of(fix.lat, fix.lon), _AREA.window_of(fix.ts),
                       moving=(fix.speed_kmh or 0) > 2)
    elif isinstance(step, _Reminder):
        tracker.on_reminder(step.alert_id, step.kind, step.ts)
    elif isinstance(step, _Forget):
        tracker.forget_older_than(step.older_than)
    return None


def _driven(steps: list) -> OrderTracker:
    tracker = OrderTracker()
    for step in steps:
        _feed(tracker, step)
    return tracker


def _through_json(snapshot: dict) -> dict:
    # As another process reads it: bytes, then plain JSON values (tuples are lists by now).
    return loads(dumps(snapshot))


def _cut(steps: list, t_s: float) -> int:
    return sum(1 for step in steps if step.ts < _at(t_s))


@pytest.mark.parametrize("cut_s", [0, 650, 1200, 1850, 2550])
def test_a_restored_tracker_continues_like_the_original(cut_s):
    steps = _script()
    cut = _cut(steps, cut_s)
    original = _driven(steps[:cut])
    restored = OrderTracker.restore(_through_json(original.snapshot()))
    assert restored.snapshot() == original.snapshot()

    rest = steps[cut:]
    assert [_feed(restored, s) for s in rest] == [_feed(original, s) for s in rest]
    assert restored.snapshot() == original.snapshot()


def test_the_snapshot_holds_in_flight_orders_mid_delivery():
    steps = _script()
    tracker = _driven(steps[:_cut(steps, 1200)])
    assert sorted(tracker.active) == ["o1", "o2", "o4"]
    assert tracker.active["o1"].route and tracker.active["o1"].reminder_alert_id == "a1"
    restored = OrderTracker.restore(_through_json(tracker.snapshot()))
    assert list(restored.active) == list(tracker.active)  # the order they are visited in
    assert restored.active == tracker.active
    assert isinstance(restored._last_cell, tuple)
    assert all(isinstance(key, tuple) for key in restored.active["o1"].route)


def test_a_delivered_order_round_trips():
    steps = _script()
    tracker, delivered = OrderTracker(), []
    for step in steps:
        delivered.append(_feed(tracker, step))
    [o1, o2] = [d for d in delivered if d is not None]
    for state in (o1, o2):
        assert OrderState.restore(_through_json(state.snapshot())) == state
    assert o1.unreachable_ts == [] and o1.reminder_kind == "speeding" and o1.after_s > 0


Case = tuple[Callable[[], dict], Callable[[dict], Any]]


def _cases() -> dict[str, Case]:
    def tracker() -> dict:
        steps = _script()
        return _driven(steps[:_cut(steps, 1200)]).snapshot()

    def state() -> dict:
        steps = _script()
        return _driven(steps[:_cut(steps, 1200)]).active["o1"].snapshot()

    return {"tracker": (tracker, OrderTracker.restore), "order": (state, OrderState.restore)}


CASES = _cases()


@pytest.mark.parametrize("name", CASES)
def test_the_same_state_gives_the_same_bytes(name):
    make, restore = CASES[name]
    first, second = make(), make()
    assert dumps(first) == dumps(second)
    assert dumps(restore(_through_json(first)).snapshot()) == dumps(first)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("change", [{"kind": "area.weather_book"}, {"v": 2}, {"v": 0}])
def test_another_kind_or_an_unknown_version_is_refused(name, change):
    make, restore = CASES[name]
    with pytest.raises(SnapshotError):
        restore({**make(), **change})


def _probes() -> list[OrderEvent]:
    """Events whose fit depends on what the tracker remembers: ended, open, unknown orders."""
    return [order("o1", "delivered", 2590), order("o3", "picked_up", 2590),
            order("o2", "picked_up", 2590), order("o2", "arrived_at_customer", 2590),
            order("o4", "delivered", 2590), order("o5", "accepted", 2590, promised_s=2000)]


@pytest.mark.parametrize("cut_s", [0, 650, 1200, 1850, 2550])
def test_a_restored_tracker_judges_the_lifecycle_like_the_original(cut_s):
    steps = _script()
    original = _driven(steps[:_cut(steps, cut_s)])
    restored = OrderTracker.restore(_through_json(original.snapshot()))
    max_promise_ms = 6 * 3_600_000
    verdicts = [original.rejects(p, max_promise_ms) for p in _probes()]
    assert [restored.rejects(p, max_promise_ms) for p in _probes()] == verdicts
    if cut_s == 2550:  # o1 and o2 delivered, o3 cancelled, o4 forgotten
        assert [v is not None for v in verdicts] == [True] * 6
        assert "delivered after the order was delivered" in verdicts[0]
        assert "after the order was cancelled" in verdicts[1]


def test_ended_orders_are_remembered_as_long_as_open_ones():
    steps = _script()
    tracker = _driven(steps)
    assert list(tracker.closed) == ["o3", "o1", "o2"]  # in the order they ended
    tracker.forget_older_than(_at(1800) + 1)  # o3 (900) and o1 (1800) ended before
    assert list(tracker.closed) == ["o2"]
    assert "never accepted" in tracker.rejects(order("o1", "delivered", 2600), 1)


def test_a_snapshot_from_before_the_lifecycle_checks_restores():
    steps = _script()
    tracker = _driven(steps[:_cut(steps, 2450)])
    old = _through_json(tracker.snapshot())
    del old["closed"]
    for plain in old["active"]:
        del plain["arrived_at_customer_ts"]
    restored = OrderTracker.restore(old)
    assert restored.closed == {} and restored.active["o2"].arrived_at_customer_ts is None
    assert restored.active.keys() == tracker.active.keys()
