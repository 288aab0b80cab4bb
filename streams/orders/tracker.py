"""Follows a rider's orders through their lifecycle, together with the rider's own fixes."""

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
            unreachable_ts=list(values["unreachable_ts"]),
            delivered_ts=values["delivered_ts"],
            route={(cell, window): seconds for cell, window, seconds in values["route"]},
            reminder_ts=values["reminder_ts"], reminder_alert_id=values["reminder_alert_id"],
            reminder_kind=values["reminder_kind"],
            before_m=values["before_m"], before_s=values["before_s"],
            after_m=values["after_m"], after_s=values["after_s"],
        )


class OrderTracker:
    __slots__ = ("_last_cell", "_last_fix", "active")

    def __init__(self) -> None:
        self.active: dict[str, OrderState] = {}
        self._last_fix: Fix | None = None
        self._last_cell: tuple[str, int] | None = None

    def snapshot(self) -> Snapshot:
        return versioned(
            KIND, VERSION,
            # A list in insertion order, not a map: it is the order the orders are visited in.
            active=[order.snapshot() for order in self.active.values()],
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
        tracker._last_fix = fix_from_plain(values["last_fix"])
        last_cell = values["last_cell"]
        # Back to a tuple: it becomes a route key, which must be hashable and equal to the
        # (cell, window) tuples later fixes produce.
        tracker._last_cell = None if last_cell is None else (last_cell[0], last_cell[1])
        return tracker

    def on_order_event(self, event: OrderEvent) -> OrderState | None:
        """Apply an event; returns the order when this event delivered it."""
        order = self.active.get(event.order_id)
        if event.type == "cancelled":
            self.active.pop(event.order_id, None)
            return None
        if order is None:
            order = self.active[event.order_id] = OrderState(event.order_id, event.ts)
        if order.delivered_ts is not None:
            return None  # a second delivery of one order changes nothing
        if event.promised_ts is not None:
            order.promised_ts = event.promised_ts
        order.city = event.city or order.city
        kind = event.type
        if kind == "accepted" and order.accepted_ts is None:
            order.accepted_ts = event.ts
        elif kind == "arrived_at_merchant" and order.arrived_at_merchant_ts is None:
            order.arrived_at_merchant_ts = event.ts
        elif kind == "food_ready" and order.food_ready_ts is None:
            order.food_ready_ts = event.ts
        elif kind == "picked_up" and order.picked_up_ts is None:
            order.picked_up_ts = event.ts
        elif kind == "customer_unreachable":
            order.unreachable_ts.append(event.ts)
        elif kind == "delivered":
            order.delivered_ts = event.ts
            del self.active[event.order_id]
            return order
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
        for order_id in [o.order_id for o in self.active.values() if o.first_ts < ts]:
            del self.active[order_id]
