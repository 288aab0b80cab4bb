"""What a rider partition notes for the serving layer as records arrive: each rider's newest
position, and the orders they take and finish. Arrival order, not event time: dispatch asks
where a rider is and whether they carry an order now, not five minutes of lateness ago. The
partition hands these over after every batch; nothing accumulates between batches."""

from collections.abc import Container

from schemas import GpsPing, OrderEvent
from streams.primitives.events import Ping
from streams.serving.pending import Position

# An order is under way from its creation or acceptance until one of these.
ORDER_ENDS = frozenset({"delivered", "cancelled"})


class LiveRiders:
    __slots__ = ("orders", "positions", "positions_of")

    def __init__(self, positions_of: Container[str] | None = None) -> None:
        """`positions_of`: the riders whose positions are wanted (None: everyone's). Only
        first-aid-certified riders' are: checked here, per fix, it costs a set look-up."""
        self.positions: dict[str, Position] = {}
        self.orders: list[tuple[str, str, int, bool]] = []  # rider, order, ts, under way
        self.positions_of = positions_of

    def on_fix(self, ping: GpsPing | Ping) -> None:
        if self.positions_of is not None and ping.rider_id not in self.positions_of:
            return
        known = self.positions.get(ping.rider_id)
        if known is None or ping.ts >= known.ts:
            self.positions[ping.rider_id] = Position(ping.ts, ping.lat, ping.lon)

    def on_order(self, event: OrderEvent) -> None:
        self.orders.append((event.rider_id, event.order_id, event.ts,
                            event.type not in ORDER_ENDS))

    def drain(self) -> "LiveRiders":
        drained = LiveRiders(self.positions_of)
        drained.positions, self.positions = self.positions, {}
        drained.orders, self.orders = self.orders, []
        return drained
