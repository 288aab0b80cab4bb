"""Harsh braking, acceleration and cornering from speed and course changes over a few seconds.

Speed changes use device speed only: position-derived speed over <= 3 s is dominated by fix
noise. A device change must be confirmed by positions before and after it, because wheel
sensors drop to 0 or hold a stale value for a second (both seen in real 1 Hz e-bike traces).
Positions confirm by which reading the distance ridden fits better over a few seconds (the
device's, or the other side's speed held), not by matching speeds over 2 s: drifting phone
noise of 3-10 m missed about one real stop in five that way.
"""

import itertools
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
# Positions before a change are taken over at most this span, so history stays short.
_BEFORE_SPAN_MS = 4000


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
        # A pending change still needs fixes from 4 s before its start.
        horizon = fix.ts - int((cfg.confirm_span_s + cfg.max_window_s) * 1000) - _BEFORE_SPAN_MS
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
            verdict = self._judge(cand, fix, ctx, final=final)
            if verdict is None:
                still.append(cand)
            elif verdict:
                alert = self._alert(cand, ctx)
                if alert is not None:
                    alerts.append(alert)
        self._pending = still
        return alerts

    def _judge(self, cand: _Candidate, fix: Fix | None, ctx: RiderContext, *,
               final: bool) -> bool | None:
        """True: positions show the change; False: a sensor fault (or no evidence); None: wait.

        Each side of the change is judged by which reading the distance ridden fits better:
        the device's speeds, or the speed on the far side of the change held throughout (what a
        wheel sensor that drops to 0, or holds a stale value, reports)."""
        cfg = ctx.settings.harsh
        span_ms = cfg.confirm_span_s * 1000
        waited = None if fix is None else fix.ts - cand.end.ts
        if not final and waited is not None and waited < _CONFIRM_SPAN_MS:
            return None
        fixes = self._recent if fix is None else [*self._recent, fix]
        before = next((f for f in self._recent
                       if cand.start.ts - _BEFORE_SPAN_MS <= f.ts
                       <= cand.start.ts - _CONFIRM_SPAN_MS), None)
        if before is None or self._rebounds(cand, fixes, ctx):
            return False
        favour_before = _favour_device(fixes, before, cand.start, cand.end.device_speed_kmh)
        if not final and waited is not None and waited < span_ms:
            favour_after = _favour_device(fixes, cand.end, fix, cand.start.device_speed_kmh)
            # Only a clear change is settled early; a dropout waits for the full span, which
            # costs nothing but a little memory.
            return True if min(favour_before, favour_after) >= cfg.decisive_margin_m else None
        after = next((f for f in reversed(fixes)
                      if _CONFIRM_SPAN_MS <= f.ts - cand.end.ts <= min(span_ms,
                                                                       _CONFIRM_MAX_SPAN_MS)),
                     None)
        if after is None:
            return False  # no fix to confirm with: without evidence, no alert
        favour_after = _favour_device(fixes, cand.end, after, cand.start.device_speed_kmh)
        return favour_before > 0 and favour_after > 0

    def _rebounds(self, cand: _Candidate, fixes: list[Fix], ctx: RiderContext) -> bool:
        # A device speed that springs back (after the change) or sprang out (before it) faster
        # than a pedelec can brake or launch is a one-second sensor blip: positions over a few
        # seconds cannot resolve the few metres it costs, so the rebound itself is the evidence.
        cfg = ctx.settings.harsh
        window_ms = cfg.max_window_s * 1000
        limit = cfg.acceleration_mps2 if cand.kind == "harsh_braking" else cfg.braking_mps2
        sign = 1 if cand.kind == "harsh_braking" else -1
        start_kmh = cand.start.device_speed_kmh or 0.0
        end_kmh = cand.end.device_speed_kmh or 0.0
        for f in fixes:
            if f.device_speed_kmh is None:
                continue
            if 0 < cand.start.ts - f.ts <= window_ms:
                change = sign * (start_kmh - f.device_speed_kmh)
                dt_ms = cand.start.ts - f.ts
            elif 0 < f.ts - cand.end.ts <= window_ms:
                change = sign * (f.device_speed_kmh - end_kmh)
                dt_ms = f.ts - cand.end.ts
            else:
                continue
            if change / 3.6 / (dt_ms / 1000) >= limit:
                return True
        return False

    def _alert(self, cand: _Candidate, ctx: RiderContext) -> RiderAlert | None:
        cfg = ctx.settings.harsh
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


def _favour_device(fixes: list[Fix], a: Fix, b: Fix, held_kmh: float | None) -> float:
    """Metres by which the distance a..b fits the device's speeds better than `held_kmh`."""
    dt_s = (b.ts - a.ts) / 1000
    if held_kmh is None or dt_s <= 0:
        return -math.inf
    readings = [(f.ts, f.device_speed_kmh) for f in fixes
                if a.ts <= f.ts <= b.ts and f.device_speed_kmh is not None]
    if len(readings) < 2 or readings[0][0] != a.ts or readings[-1][0] != b.ts:
        return -math.inf
    device_m = sum((t1 - t0) / 1000 * (v0 + v1) / 2 / 3.6
                   for (t0, v0), (t1, v1) in itertools.pairwise(readings))
    held_m = held_kmh / 3.6 * dt_s
    position_m = haversine_m(a.lat, a.lon, b.lat, b.lon)
    return abs(position_m - held_m) - abs(position_m - device_m)


def _fix(values: list) -> Fix:
    # Every fix here is required: a null would only fail later, far from the bad snapshot.
    fix = fix_from_plain(values)
    if fix is None:
        raise TypeError("null where a fix belongs")
    return fix
