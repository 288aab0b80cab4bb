"""Riding into a no-entry zone: one alert per visit, with a re-entry cooldown per zone."""

from typing import Self

from schemas import RiderAlert
from streams.detectors.base import RiderContext, build_alert
from streams.primitives.fix import Fix
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "detector.restricted_zone"
VERSION = 1


class RestrictedZoneDetector:
    __slots__ = ("_alerted_visits", "_last_alert")

    def __init__(self) -> None:
        self._alerted_visits: set[str] = set()  # zones the rider is inside and was told about
        self._last_alert: dict[str, int] = {}

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[RiderAlert]:
        if not ctx.zones.zones:
            return []
        cfg = ctx.settings.zones
        here = ctx.zones.zones_at(fix.lat, fix.lon)
        inside = sorted(z.name for z in here if z.kind == "no_entry")
        # Leaving a zone ends the visit; the cooldown still guards against border flicker.
        self._alerted_visits.intersection_update(inside)
        if fix.speed_kmh is None or fix.speed_kmh < cfg.min_speed_kmh:
            return []
        alerts = []
        for name in inside:
            if name in self._alerted_visits:
                continue
            self._alerted_visits.add(name)
            last = self._last_alert.get(name)
            if last is not None and fix.ts - last < cfg.reentry_cooldown_s * 1000:
                continue
            self._last_alert[name] = fix.ts
            evidence = {"zone": name, "speed_kmh": round(fix.speed_kmh, 1),
                        "lat": fix.lat, "lon": fix.lon}
            alerts.append(build_alert(ctx, "restricted_zone", "warning", fix.ts, evidence,
                                      identity=(name, fix.ts), zone=name))
        return alerts

    def close(self, ctx: RiderContext) -> list[RiderAlert]:
        return []

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        # Sorted: a set's order depends on insertion history and string hashing, which differ
        # between processes, and the same state must give the same bytes.
        return versioned(KIND, VERSION, alerted_visits=sorted(self._alerted_visits),
                         last_alert=dict(self._last_alert))

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        detector = cls()
        detector._alerted_visits = set(values["alerted_visits"])
        detector._last_alert = dict(values["last_alert"])
        return detector
