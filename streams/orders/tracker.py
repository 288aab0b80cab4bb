"""Follows a rider's orders through their lifecycle, together with the rider's own fixes.

The lifecycle is a state machine, checked by `OrderTracker.rejects` before an event is applied
or judged by any detector. An order opens with `created` or `accepted`, takes its steps, and
ends with `delivered` or `cancelled`. Rejected, because they could only be corrupt or replayed
data and judging them could cost a rider points for nothing:
- any step of an order that is not open: never created or accepted (in event time, so an
  acceptance that merely arrives after its pickup within the allowed lateness is still first);
- anything after the order was delivered or cancelled (a second delivery is never decided);
- a step the order already took: each is recorded, and a rider's tap judged, once;
- a deadline (`promised_ts`) before the acceptance, or more than `orders.max_promise_s` after.
Tolerated, because real apps do it: skipped steps (a delivery straight after the acceptance),
steps in another order than usual (food ready before the rider arrives, an arrival tapped after
the pickup), `customer_unreachable` any number of times, and `created` again or after the
acceptance (it is the platform's record, and it sorts after `accepted` within a millisecond).
"""

from dataclasses import dataclass, field
from typing import Any, Self

from schemas import OrderEvent
from streams.primitives.fix import Fix
from streams.primitives.geo import haversine_m
from streams.primitives.snapshot import (
    Migration,
    Snapshot,
    fields,
    fix_from_plain,
    fix_to_plain,
    versioned,
)

# Time between two fixes counts towards an order's route only up to this gap.
_MAX_SEGMENT_MS = 120_000

# The steps an order takes at most once, and where each is recorded.
_ONCE = {
    "accepted": "accepted_ts",
    "arrived_at_merchant": "arrived_at_merchant_ts",
    "food_ready": "food_ready_ts",
    "picked_up": "picked_up_ts",
    "arrived_at_customer": "arrived_at_customer_ts",
}
_OPENING = frozenset({"created", "accepted"})
DELIVERED = "delivered"
CANCELLED = "cancelled"

KIND = "orders.tracker"
ORDER_KIND = "orders.order_state"
VERSION = 1
ORDER_VERSION = 1
MIGRATIONS: dict[int, Migration] = {}
ORDER_MIGRATIONS: dict[int, Migration] = {}


@dataclass(slots=True)
class OrderState:
    order_id: str
    first_ts: int
    city: str | None = None
    promised_ts: int | None = None
    accepted_ts: int | None = None
    arrived_at_merchant_ts: int | None = None
    food_ready_ts: int | None = None
    picked_up_ts: int | None = None
    arrived_at_customer_ts: int | None = None
    unreachable_ts: list[int] = field(default_factory=list)
    delivered_ts: int | None = None
    # (cell, window start) -> seconds ridden there while the order was under way
    route: dict[tuple[str, int], float] = field(default_factory=dict)
    reminder_ts: int | None = None
    reminder_alert_id: str | None = None
    reminder_kind: str | None = None
    # moving distance (m) and time (s), before and after the first reminder
    before_m: float = 0.0
    before_s: float = 0.0
    after_m: float = 0.0
    after_s: float = 0.0

    @property
    def start_ts(self) -> int:
        return self.accepted_ts if self.accepted_ts is not None else self.first_ts

    def snapshot(self) -> Snapshot:
        return versioned(
            ORDER_KIND, ORDER_VERSION,
            order_id=self.order_id, first_ts=self.first_ts, city=self.city,
            promised_ts=self.promised_ts, accepted_ts=self.accepted_ts,
            arrived_at_merchant_ts=self.arrived_at_merchant_ts,
            food_ready_ts=self.food_ready_ts, picked_up_ts=self.picked_up_ts,
            arrived_at_customer_ts=self.arrived_at_customer_ts,
            unreachable_ts=list(self.unreachable_ts), delivered_ts=self.delivered_ts,
            # JSON has no tuple keys: [cell, window start, seconds] rows, sorted so the same
            # route always gives the same bytes.
            route=[[cell, window, seconds]
                   for (cell, window), seconds in sorted(self.route.items())],
            reminder_ts=self.reminder_ts, reminder_alert_id=self.reminder_alert_id,
            reminder_kind=self.reminder_kind,
            before_m=self.before_m, before_s=self.before_s,
            after_m=self.after_m, after_s=self.after_s,
        )

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Self:
        values = fields(data, ORDER_KIND, ORDER_VERSION, ORDER_MIGRATIONS)
        return cls(
            order_id=values["order_id"], first_ts=values["first_ts"], city=values["city"],
            promised_ts=values["promised_ts"], accepted_ts=values["accepted_ts"],
            arrived_at_merchant_ts=values["arrived_at_merchant_ts"],
            food_ready_ts=values["food_ready_ts"], picked_up_ts=values["picked_up_ts"],
            # Added without a new version: a snapshot written before it had no such step.
            arrived_at_customer_ts=values.get("arrived_at_customer_ts"),
            unreachable_ts=list(values["unreachable_ts"]),
            delivered_ts=values["delivered_ts"],
            route={(cell, window): seconds for cell, window, seconds in values["route"]},
            reminder_ts=values["reminder_ts"], reminder_alert_id=values["reminder_alert_id"],
            reminder_kind=values["reminder_kind"],
            before_m=values["before_m"], before_s=values["before_s"],
            after_m=values["after_m"], after_s=values["after_s"],
        )


class OrderTracker:
    __slots__ = ("_last_cell", "_last_fix", "active", "closed")

    def __init__(self) -> None:
        self.active: dict[str, OrderState] = {}
        # Orders that ended, for as long as open ones are remembered: order_id -> (how, when),
        # in the order they ended. Then the order is unknown again: its steps are still
        # rejected (as unknown); only a new acceptance would open it.
        self.closed: dict[str, tuple[str, int]] = {}
        self._last_fix: Fix | None = None
        self._last_cell: tuple[str, int] | None = None

    def snapshot(self) -> Snapshot:
        return versioned(
            KIND, VERSION,
            # A list in insertion order, not a map: it is the order the orders are visited in.
            active=[order.snapshot() for order in self.active.values()],
            closed=[[order_id, how, ts] for order_id, (how, ts) in self.closed.items()],
            last_fix=fix_to_plain(self._last_fix),
            last_cell=None if self._last_cell is None else list(self._last_cell),
        )

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Self:
        values = fields(data, KIND, VERSION, MIGRATIONS)
        tracker = cls()
        for plain in values["active"]:
            order = OrderState.restore(plain)
            tracker.active[order.order_id] = order
        # Added without a new version: a snapshot written before it remembered no ended order
        # (their events are then rejected as unknown, all the same).
        for order_id, how, ts in values.get("closed", []):
            # The module's two strings, not one copy per ended order.
            tracker.closed[order_id] = (DELIVERED if how == DELIVERED else CANCELLED, ts)
        tracker._last_fix = fix_from_plain(values["last_fix"])
        last_cell = values["last_cell"]
        # Back to a tuple: it becomes a route key, which must be hashable and equal to the
        # (cell, window) tuples later fixes produce.
        tracker._last_cell = None if last_cell is None else (last_cell[0], last_cell[1])
        return tracker

    def rejects(self, event: OrderEvent, max_promise_ms: int) -> str | None:
        """Why `event` does not fit its order's lifecycle, or None when it does. Changes
        nothing, so a rejected event can be dead-lettered before anything sees it."""
        kind = event.type
        ended = self.closed.get(event.order_id)
        if ended is not None:
            return f"{kind} after the order was {ended[0]} at {ended[1]}"
        order = self.active.get(event.order_id)
        if order is None:
            if kind not in _OPENING:
                return f"{kind} for an order rider {event.rider_id} never accepted or created"
            start, what = event.ts, ("acceptance" if kind == "accepted" else "creation")
        else:
            if kind == "created":
                return None  # changes nothing (see on_order_event)
            field_name = _ONCE.get(kind)
            if field_name is not None:
                done = getattr(order, field_name)
                if done is not None:
                    return f"{kind} again: the order was already {kind} at {done}"
            if order.accepted_ts is not None:
                start, what = order.accepted_ts, "acceptance"
            elif kind == "accepted":
                start, what = event.ts, "acceptance"
            else:
                start, what = order.first_ts, "creation"
        promised = event.promised_ts
        if promised is not None:
            if promised < start:
                return f"promised_ts {promised} is before the order's {what} at {start}"
            if promised - start > max_promise_ms:
                return (f"promised_ts {promised} is {(promised - start) // 1000} s after the "
                        f"order's {what} at {start}, more than orders.max_promise_s "
                        f"({max_promise_ms // 1000} s)")
        return None

    def on_order_event(self, event: OrderEvent) -> OrderState | None:
        """Apply an event that `rejects` let through; returns the order when this event
        delivered it."""
        kind = event.type
        order = self.active.get(event.order_id)
        if order is None:
            order = self.active[event.order_id] = OrderState(event.order_id, event.ts)
        elif kind == "created":
            # The platform's record of an order the rider already has: not even its deadline
            # counts, the acceptance's does.
            return None
        if kind == CANCELLED:
            del self.active[event.order_id]
            self.closed[event.order_id] = (CANCELLED, event.ts)
            return None
        if event.promised_ts is not None:
            order.promised_ts = event.promised_ts
        order.city = event.city or order.city
        if kind == "accepted":
            order.accepted_ts = event.ts
            if order.promised_ts is not None and order.promised_ts < event.ts:
                # A deadline set by `created` (rejects() checked any other against the
                # acceptance): it passed before the rider took the order, so the rider is not
                # judged against it.
                order.promised_ts = None
        elif kind == "customer_unreachable":
            order.unreachable_ts.append(event.ts)
        elif kind == DELIVERED:
            order.delivered_ts = event.ts
            del self.active[event.order_id]
            self.closed[event.order_id] = (DELIVERED, event.ts)
            return order
        else:
            field_name = _ONCE.get(kind)
            if field_name is not None and getattr(order, field_name) is None:
                setattr(order, field_name, event.ts)
        return None

    def on_fix(self, fix: Fix, cell: str, window_start: int, moving: bool) -> None:
        last = self._last_fix
        if last is not None and self.active and 0 < fix.ts - last.ts <= _MAX_SEGMENT_MS:
            dt_s = (fix.ts - last.ts) / 1000
            dist = haversine_m(last.lat, last.lon, fix.lat, fix.lon) if moving else 0.0
            where = self._last_cell or (cell, window_start)
            for order in self.active.values():
                order.route[where] = order.route.get(where, 0.0) + dt_s
                if moving:
                    if order.reminder_ts is None:
                        order.before_m += dist
                        order.before_s += dt_s
                    else:
                        order.after_m += dist
                        order.after_s += dt_s
        self._last_fix = fix
        self._last_cell = (cell, window_start)

    def on_reminder(self, alert_id: str, kind: str, ts: int) -> None:
        """A speeding or severe-weather reminder reached the rider during these orders."""
        for order in self.active.values():
            if order.reminder_ts is None:
                order.reminder_ts = ts
                order.reminder_alert_id = alert_id
                order.reminder_kind = kind

    def forget_older_than(self, ts: int) -> None:
        """Forget open orders that started before `ts`, and ended ones that ended before it."""
        for order_id in [o.order_id for o in self.active.values() if o.first_ts < ts]:
            del self.active[order_id]
        closed = self.closed
        # In the order they ended (event time): the ones to forget are at the front.
        while closed:
            order_id, (_, ended) = next(iter(closed.items()))
            if ended >= ts:
                break
            del closed[order_id]
