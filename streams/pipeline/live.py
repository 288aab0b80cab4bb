"""The real-time path of one rider: its own detectors, fed each fix the moment it arrives in
order, so a reminder leaves with the fix that meets its rule.

The event-time path (the reorder buffer and the rider pipeline) stays the authority for what
is final: it sees every record within the allowed lateness in event-time order, and the score,
order decisions and subsidies follow it alone. An alert it finds that this path already sent
(same derived id) is not published twice; one this path missed (out-of-order data) is published
late, marked not real-time."""

from typing import Self

from schemas import OrderEvent, RiderAlert
from streams.detectors.base import RiderContext
from streams.detectors.registry import RiderDetectors
from streams.orders.tracker import OrderTracker
from streams.primitives.events import Ping
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "pipeline.live"
VERSION = 1
# Late firings remembered so this path does not send them again: a few per rider at most.
_MAX_LATE = 64


class LivePath:
    __slots__ = ("detectors", "last_ts", "late", "orders", "sent")

    def __init__(self) -> None:
        self.detectors = RiderDetectors()
        # Order lifecycles as this path has seen them (events only): a tap the event-time path
        # would reject (an order never accepted, delivered twice) raises no reminder here.
        self.orders = OrderTracker()
        self.last_ts: int | None = None  # newest record this path has processed
        # alert_id -> ts of the record that met its rule, until the event-time path gets there
        self.sent: dict[str, int] = {}
        # Alerts the event-time path published first (late data, or a warning that arrived
        # after the fix it applies to): this path may meet them later and must stay quiet.
        self.late: dict[str, None] = {}

    def on_ping(self, ping: Ping, ctx: RiderContext) -> list[RiderAlert]:
        """Alerts met at this fix; nothing for a fix older than a record already processed
        (late data is the event-time path's)."""
        if self.last_ts is not None and ping.ts <= self.last_ts:
            return []
        self.last_ts = ping.ts
        _, found = self.detectors.on_ping(ping, ctx)
        return self._sent(found, ping.ts) if found else []

    def on_order_event(self, event: OrderEvent, ctx: RiderContext) -> list[RiderAlert]:
        """An order event in order with this path's records. It moves this path's time, so a
        fix older than it is left to the event-time path; one further ahead of the rider's
        fixes than a tap can be judged over is left to it too (an order service's clock must
        not hold up this path)."""
        last = self.last_ts
        ahead_ms = ctx.settings.phone_use.max_ping_gap_s * 1000
        if last is not None and not last <= event.ts <= last + ahead_ms:
            return []
        self.last_ts = event.ts
        if self.orders.rejects(event, int(ctx.settings.orders.max_promise_s * 1000)):
            return []
        self.orders.on_order_event(event)
        found = self.detectors.on_order_event(event, ctx)
        return self._sent(found, event.ts) if found else []

    def _sent(self, found: list, at_ts: int) -> list[RiderAlert]:
        """Remember each alert by the record that met its rule (an alert may be dated earlier,
        e.g. a harsh stop at its end, confirmed seconds later): the event-time path finds it
        again when it processes that record."""
        alerts = [f for f in found if type(f) is RiderAlert and f.alert_id not in self.late]
        for alert in alerts:
            self.sent[alert.alert_id] = at_ts
        return alerts

    def already_sent(self, alert_id: str) -> bool:
        """The event-time path found this alert: was it sent already? Answers once; if not,
        the event-time path publishes it and this path will not."""
        if self.sent.pop(alert_id, None) is not None:
            return True
        if len(self.late) >= _MAX_LATE:
            del self.late[next(iter(self.late))]
        self.late[alert_id] = None
        return False

    def forget_before(self, ts: int, orders_before: int) -> None:
        """The event-time path has processed everything before `ts`: an alert sent for an
        earlier fix that it did not find was a guess that late data changed; stop waiting.
        Orders that started (or ended) before `orders_before` are forgotten too."""
        if self.sent:
            self.sent = {k: v for k, v in self.sent.items() if v >= ts}
        self.orders.forget_older_than(orders_before)

    def snapshot(self) -> Snapshot:
        return versioned(KIND, VERSION, detectors=self.detectors.snapshot(),
                         last_ts=self.last_ts, sent=self.sent, late=list(self.late),
                         orders=self.orders.snapshot())

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        live = cls()
        live.detectors = RiderDetectors.restore(values["detectors"])
        live.last_ts = values["last_ts"]
        live.sent = dict(values["sent"])
        live.late = dict.fromkeys(values["late"])
        # Written before the real-time path followed order lifecycles: it starts empty, and
        # a tap of an order it has not seen opened is left to the event-time path.
        orders = values.get("orders")
        if orders is not None:
            live.orders = OrderTracker.restore(orders)
        return live
