"""Harsh braking, acceleration and cornering from speed and course changes over a few seconds.

Speed changes use device speed only: position-derived speed over <= 3 s is dominated by fix
noise. A device change must be confirmed by positions before and after it, because wheel
sensors drop to 0 or hold a stale value for a second (both seen in real 1 Hz e-bike traces).
"""

import math
from dataclasses import dataclass
from typing import Self

from schemas import RiderAlert
from streams.detectors.base import RiderContext, build_alert
from streams.primitives.fix import Fix
from streams.primitives.geo import haversine_m, heading_difference_deg
from streams.primitives.snapshot import (
    Snapshot,
    fields,
    fix_from_plain,
    fix_to_plain,
    versioned,
)

KIND = "detector.harsh"
VERSION = 1

# Position-derived speed used for confirmation is taken over at least this span.
_CONFIRM_SPAN_MS = 2000
_CONFIRM_MAX_SPAN_MS = 8000


@dataclass(slots=True)
class _Candidate:
    kind: str  # harsh_braking | harsh_acceleration
    start: Fix
    end: Fix
    accel_mps2: float


class HarshManoeuvreDetector:
    __slots__ = ("_last_alert", "_pending", "_recent")

    def __init__(self) -> None:
        self._recent: list[Fix] = []  # oldest first; a list is 700 bytes smaller than a deque
        self._pending: list[_Candidate] = []
        self._last_alert: dict[str, int] = {}

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[RiderAlert]:
        cfg = ctx.settings.harsh
        alerts = self._resolve_pending(fix, ctx, final=False)
        recent = self._recent
        horizon = fix.ts - _CONFIRM_MAX_SPAN_MS - int(cfg.max_window_s * 1000)
        old = 0
        while old < len(recent) and recent[old].ts < horizon:
            old += 1
        if old:
            del recent[:old]
        if fix.device_speed_kmh is not None:
            candidate = self._speed_change(fix, ctx)
            if candidate is not None:
                self._pending.append(candidate)
        corner = self._cornering(fix, ctx)
        if corner is not None:
            alerts.append(corner)
        recent.append(fix)
        return alerts

    def close(self, ctx: RiderContext) -> list[RiderAlert]:
        return self._resolve_pending(None, ctx, final=True)

    def _speed_change(self, fix: Fix, ctx: RiderContext) -> _Candidate | None:
        cfg = ctx.settings.harsh
        window_ms = cfg.max_window_s * 1000
        best: _Candidate | None = None
        for prev in reversed(self._recent):
            dt_ms = fix.ts - prev.ts
            if dt_ms > window_ms:
                break
            if prev.device_speed_kmh is None or dt_ms <= 0:
                continue
            if max(prev.device_speed_kmh, fix.device_speed_kmh or 0.0) < cfg.min_speed_kmh:
                continue
            accel = (fix.device_speed_kmh - prev.device_speed_kmh) / 3.6 / (dt_ms / 1000)
            if accel <= -cfg.braking_mps2:
                kind = "harsh_braking"
            elif accel >= cfg.acceleration_mps2:
                kind = "harsh_acceleration"
            else:
                continue
            if best is None or abs(accel) > abs(best.accel_mps2):
                best = _Candidate(kind, prev, fix, accel)
        return best

    def _resolve_pending(
        self, fix: Fix | None, ctx: RiderContext, *, final: bool
    ) -> list[RiderAlert]:
        if not self._pending:
            return []
        alerts: list[RiderAlert] = []
        still: list[_Candidate] = []
        for cand in self._pending:
            after = None
            if fix is not None and fix.ts - cand.end.ts >= _CONFIRM_SPAN_MS:
                after = fix
            if after is None and not final:
                if fix is not None and fix.ts - cand.end.ts > _CONFIRM_MAX_SPAN_MS:
                    continue  # no fix to confirm with: without evidence, no alert
                still.append(cand)
                continue
            if after is None or after.ts - cand.end.ts > _CONFIRM_MAX_SPAN_MS:
                continue
            alert = self._confirm(cand, after, ctx)
            if alert is not None:
                alerts.append(alert)
        self._pending = still
        return alerts

    def _confirm(self, cand: _Candidate, after: Fix, ctx: RiderContext) -> RiderAlert | None:
        cfg = ctx.settings.harsh
        before = None
        for prev in reversed(self._recent):
            if prev.ts <= cand.start.ts - _CONFIRM_SPAN_MS:
                before = prev
                break
        if before is None or cand.start.ts - before.ts > _CONFIRM_MAX_SPAN_MS:
            return None
        if not (
            _agrees(before, cand.start, cfg.speed_agreement_kmh)
            and _agrees(cand.end, after, cfg.speed_agreement_kmh)
        ):
            return None
        last = self._last_alert.get(cand.kind)
        if last is not None and cand.end.ts - last < cfg.cooldown_s * 1000:
            return None
        self._last_alert[cand.kind] = cand.end.ts
        severity = "critical" if abs(cand.accel_mps2) >= 1.5 * _threshold(cand.kind, ctx) else (
            "warning"
        )
        evidence = {
            "accel_mps2": round(cand.accel_mps2, 2),
            "from_speed_kmh": cand.start.device_speed_kmh,
            "to_speed_kmh": cand.end.device_speed_kmh,
            "interval_s": round((cand.end.ts - cand.start.ts) / 1000, 3),
            "start_ts": cand.start.ts,
        }
        return build_alert(ctx, cand.kind, severity, cand.end.ts, evidence,  # type: ignore[arg-type]
                           identity=(cand.start.ts, cand.end.ts))

    def _cornering(self, fix: Fix, ctx: RiderContext) -> RiderAlert | None:
        # Device heading only (GNSS Doppler course): bearings between fixes swing 40 degrees in
        # a second at 16 km/h in real 1 Hz traces, which would read as violent turns.
        cfg = ctx.settings.harsh
        if fix.device_heading_deg is None or fix.speed_kmh is None or not self._recent:
            return None
        prev = self._recent[-1]
        dt_ms = fix.ts - prev.ts
        if (prev.device_heading_deg is None or prev.speed_kmh is None
                or not 0 < dt_ms <= cfg.max_window_s * 1000):
            return None
        speed_kmh = min(prev.speed_kmh, fix.speed_kmh)
        if speed_kmh < cfg.min_speed_kmh:
            return None
        turn = heading_difference_deg(prev.device_heading_deg, fix.device_heading_deg)
        turn_rad = math.radians(turn)
        lateral = speed_kmh / 3.6 * turn_rad / (dt_ms / 1000)
        if lateral < cfg.cornering_mps2:
            return None
        last = self._last_alert.get("harsh_cornering")
        if last is not None and fix.ts - last < cfg.cooldown_s * 1000:
            return None
        self._last_alert["harsh_cornering"] = fix.ts
        severity = "critical" if lateral >= 1.5 * cfg.cornering_mps2 else "warning"
        evidence = {
            "lateral_mps2": round(lateral, 2),
            "speed_kmh": round(speed_kmh, 1),
            "turn_deg": round(math.degrees(turn_rad), 1),
            "interval_s": round(dt_ms / 1000, 3),
        }
        return build_alert(ctx, "harsh_cornering", severity, fix.ts, evidence,
                           identity=(prev.ts, fix.ts))

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        pending = [
            {"kind": c.kind, "start": fix_to_plain(c.start), "end": fix_to_plain(c.end),
             "accel_mps2": c.accel_mps2}
            for c in self._pending
        ]
        return versioned(KIND, VERSION, recent=[fix_to_plain(f) for f in self._recent],
                         pending=pending, last_alert=dict(self._last_alert))

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        detector = cls()
        detector._recent = [_fix(f) for f in values["recent"]]
        detector._pending = [
            _Candidate(c["kind"], _fix(c["start"]), _fix(c["end"]), c["accel_mps2"])
            for c in values["pending"]
        ]
        detector._last_alert = dict(values["last_alert"])
        return detector


def _threshold(kind: str, ctx: RiderContext) -> float:
    cfg = ctx.settings.harsh
    return cfg.braking_mps2 if kind == "harsh_braking" else cfg.acceleration_mps2


def _agrees(a: Fix, b: Fix, tolerance_kmh: float) -> bool:
    """Does distance over a..b match the device's mean speed over the same span?"""
    if a.device_speed_kmh is None or b.device_speed_kmh is None:
        return False
    dt_s = (b.ts - a.ts) / 1000
    if dt_s <= 0:
        return False
    position_kmh = haversine_m(a.lat, a.lon, b.lat, b.lon) / dt_s * 3.6
    device_kmh = (a.device_speed_kmh + b.device_speed_kmh) / 2
    return abs(position_kmh - device_kmh) <= max(tolerance_kmh, 0.35 * device_kmh)


def _fix(values: list) -> Fix:
    # Every fix here is required: a null would only fail later, far from the bad snapshot.
    fix = fix_from_plain(values)
    if fix is None:
        raise TypeError("null where a fix belongs")
    return fix
