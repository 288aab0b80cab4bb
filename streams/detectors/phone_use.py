"""Phone use: an order action confirmed in the app while the rider was moving.

Judged from the fix before and the fix after the tap, so a rider who taps while braking to a
stop (the usual way to confirm arrival) is not penalised.
"""

from typing import Self

from schemas import OrderEvent, RiderAlert
from streams.detectors.base import RiderContext, build_alert
from streams.primitives.fix import Fix
from streams.primitives.snapshot import (
    Snapshot,
    fields,
    fix_from_plain,
    fix_to_plain,
    versioned,
)

KIND = "detector.phone_use"
VERSION = 1

RIDER_CONFIRMED = frozenset(
    {"accepted", "arrived_at_merchant", "picked_up", "arrived_at_customer", "delivered"}
)


class PhoneUseDetector:
    __slots__ = ("_last_fix", "_pending")

    def __init__(self) -> None:
        self._last_fix: Fix | None = None
        self._pending: list[tuple[OrderEvent, Fix | None]] = []

    def on_order_event(self, event: OrderEvent, ctx: RiderContext) -> list[RiderAlert]:
        if event.type in RIDER_CONFIRMED:
            self._pending.append((event, self._last_fix))
        return []

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[RiderAlert]:
        alerts = []
        if self._pending:
            for event, before in self._pending:
                alert = self._judge(event, before, fix, ctx)
                if alert is not None:
                    alerts.append(alert)
            self._pending = []
        if fix.speed_kmh is not None:
            self._last_fix = fix
        return alerts

    def close(self, ctx: RiderContext) -> list[RiderAlert]:
        self._pending = []  # no fix after the tap: no evidence of riding, no alert
        return []

    def _judge(
        self, event: OrderEvent, before: Fix | None, after: Fix, ctx: RiderContext
    ) -> RiderAlert | None:
        cfg = ctx.settings.phone_use
        gap_ms = cfg.max_ping_gap_s * 1000
        if before is None or after.speed_kmh is None or before.speed_kmh is None:
            return None
        if event.ts - before.ts > gap_ms or after.ts - event.ts > gap_ms:
            return None
        if min(before.speed_kmh, after.speed_kmh) <= cfg.min_speed_kmh:
            return None
        evidence = {"action": event.type, "order_id": event.order_id,
                    "speed_before_kmh": round(before.speed_kmh, 1),
                    "speed_after_kmh": round(after.speed_kmh, 1)}
        return build_alert(ctx, "phone_use", "warning", event.ts, evidence,
                           identity=(event.order_id, event.type, event.ts))

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        # A tap is [the event in its wire (JSON) form, the fix before it]: the event's own
        # schema rebuilds it on restore, rather than a second, hand-kept field list.
        pending = [[event.model_dump(mode="json"), fix_to_plain(before)]
                   for event, before in self._pending]
        return versioned(KIND, VERSION, last_fix=fix_to_plain(self._last_fix), pending=pending)

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        detector = cls()
        detector._last_fix = fix_from_plain(values["last_fix"])
        # JSON made the (event, before) pairs lists: rebuild what on_order_event appends.
        detector._pending = [(OrderEvent.model_validate(event), fix_from_plain(before))
                             for event, before in values["pending"]]
        return detector
