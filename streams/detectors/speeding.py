"""Speeding: above the applicable limit by more than a tolerance, sustained.

One alert per episode, with a cooldown; severity grows with the peak excess."""

from dataclasses import dataclass

from schemas import RiderAlert
from streams.detectors.base import RiderContext, build_alert
from streams.primitives.fix import Fix


@dataclass(slots=True)
class _Episode:
    start_ts: int
    last_ts: int
    max_speed_kmh: float
    limit_kmh: float  # the limit at the peak
    zone: str | None
    max_excess_kmh: float
    fixes: int


class SpeedingDetector:
    __slots__ = ("_cooldown_until", "_episode")

    def __init__(self) -> None:
        self._episode: _Episode | None = None
        self._cooldown_until: int = 0

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[RiderAlert]:
        cfg = ctx.settings.speeding
        alerts: list[RiderAlert] = []
        ep = self._episode
        if ep is not None and fix.ts - ep.last_ts > cfg.max_gap_s * 1000:
            alerts.extend(self._close(ctx))
            ep = None
        if fix.speed_kmh is None:
            return alerts
        limit, zone = ctx.zones.speed_limit_at(fix.lat, fix.lon, cfg.national_cap_kmh)
        excess = fix.speed_kmh - limit
        if excess <= cfg.tolerance_kmh:
            if ep is not None:
                alerts.extend(self._close(ctx))
            return alerts
        if ep is None:
            self._episode = _Episode(fix.ts, fix.ts, fix.speed_kmh, limit, zone, excess, 1)
            return alerts
        ep.last_ts = fix.ts
        ep.fixes += 1
        if excess > ep.max_excess_kmh:
            ep.max_excess_kmh = excess
            ep.max_speed_kmh = fix.speed_kmh
            ep.limit_kmh = limit
            ep.zone = zone
        if ep.last_ts - ep.start_ts >= cfg.max_episode_s * 1000:
            alerts.extend(self._close(ctx))
        return alerts

    def close(self, ctx: RiderContext) -> list[RiderAlert]:
        return self._close(ctx)

    def _close(self, ctx: RiderContext) -> list[RiderAlert]:
        cfg = ctx.settings.speeding
        ep, self._episode = self._episode, None
        if ep is None:
            return []
        duration_ms = ep.last_ts - ep.start_ts
        if duration_ms < cfg.min_duration_s * 1000 or ep.start_ts < self._cooldown_until:
            return []
        self._cooldown_until = ep.last_ts + int(cfg.cooldown_s * 1000)
        severity = "critical" if ep.max_excess_kmh >= cfg.critical_excess_kmh else "warning"
        evidence = {
            "max_speed_kmh": round(ep.max_speed_kmh, 1),
            "limit_kmh": ep.limit_kmh,
            "excess_kmh": round(ep.max_excess_kmh, 1),
            "duration_s": round(duration_ms / 1000, 1),
            "start_ts": ep.start_ts,
            "fixes": ep.fixes,
            "zone": ep.zone,
        }
        return [
            build_alert(
                ctx, "speeding", severity, ep.last_ts, evidence, identity=(ep.start_ts,),
                max_speed_kmh=ep.max_speed_kmh, limit_kmh=ep.limit_kmh,
            )
        ]
