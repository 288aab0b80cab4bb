"""Speeding: above the applicable limit by more than a tolerance, sustained.

The reminder goes out at the fix that makes the episode long enough to count; the episode's
peak and length are known only when it ends, so the score is settled then, from a closing
record with the final severity (it grows with the peak excess). One reminder per episode, with
a cooldown."""

from dataclasses import dataclass
from typing import Self

from schemas import RiderAlert
from streams.detectors.base import EpisodeClosed, Finding, RiderContext, build_alert
from streams.primitives.fix import Fix
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "detector.speeding"
VERSION = 1


@dataclass(slots=True)
class _Episode:
    start_ts: int
    last_ts: int
    max_speed_kmh: float
    limit_kmh: float  # the limit at the peak
    zone: str | None
    max_excess_kmh: float
    fixes: int
    alerted: bool = False  # the reminder went out (rule met, not in cooldown)


class SpeedingDetector:
    __slots__ = ("_cooldown_until", "_episode")

    def __init__(self) -> None:
        self._episode: _Episode | None = None
        self._cooldown_until: int = 0

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[Finding]:
        cfg = ctx.settings.speeding
        found: list[Finding] = []
        ep = self._episode
        if ep is not None and fix.ts - ep.last_ts > cfg.max_gap_s * 1000:
            found.extend(self._close(ctx))
            ep = None
        if fix.speed_kmh is None:
            return found
        limit, zone = ctx.zones.speed_limit_at(fix.lat, fix.lon, cfg.national_cap_kmh)
        excess = fix.speed_kmh - limit
        if excess <= cfg.tolerance_kmh:
            if ep is not None:
                found.extend(self._close(ctx))
            return found
        if ep is None:
            ep = self._episode = _Episode(fix.ts, fix.ts, fix.speed_kmh, limit, zone, excess, 1)
        else:
            ep.last_ts = fix.ts
            ep.fixes += 1
            if excess > ep.max_excess_kmh:
                ep.max_excess_kmh = excess
                ep.max_speed_kmh = fix.speed_kmh
                ep.limit_kmh = limit
                ep.zone = zone
        if (not ep.alerted and ep.last_ts - ep.start_ts >= cfg.min_duration_s * 1000
                and ep.start_ts >= self._cooldown_until):
            ep.alerted = True
            found.append(self._alert(ep, fix.ts, ctx))
        if ep.last_ts - ep.start_ts >= cfg.max_episode_s * 1000:
            found.extend(self._close(ctx))
        return found

    def close(self, ctx: RiderContext) -> list[Finding]:
        return self._close(ctx)

    def _close(self, ctx: RiderContext) -> list[Finding]:
        ep, self._episode = self._episode, None
        if ep is None or not ep.alerted:
            return []
        self._cooldown_until = ep.last_ts + int(ctx.settings.speeding.cooldown_s * 1000)
        return [EpisodeClosed(self._alert(ep, ep.last_ts, ctx))]

    @staticmethod
    def _alert(ep: _Episode, ts: int, ctx: RiderContext) -> RiderAlert:
        cfg = ctx.settings.speeding
        severity = "critical" if ep.max_excess_kmh >= cfg.critical_excess_kmh else "warning"
        evidence = {
            "max_speed_kmh": round(ep.max_speed_kmh, 1),
            "limit_kmh": ep.limit_kmh,
            "excess_kmh": round(ep.max_excess_kmh, 1),
            "duration_s": round((ep.last_ts - ep.start_ts) / 1000, 1),
            "start_ts": ep.start_ts,
            "fixes": ep.fixes,
            "zone": ep.zone,
        }
        return build_alert(ctx, "speeding", severity, ts, evidence, identity=(ep.start_ts,),
                           max_speed_kmh=ep.max_speed_kmh, limit_kmh=ep.limit_kmh)

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        ep = self._episode
        episode = None if ep is None else [
            ep.start_ts, ep.last_ts, ep.max_speed_kmh, ep.limit_kmh, ep.zone,
            ep.max_excess_kmh, ep.fixes, ep.alerted]
        return versioned(KIND, VERSION, episode=episode, cooldown_until=self._cooldown_until)

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        detector = cls()
        episode = values["episode"]
        detector._episode = None if episode is None else _Episode(*episode)
        detector._cooldown_until = values["cooldown_until"]
        return detector
