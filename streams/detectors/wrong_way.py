"""Wrong-way riding on one-way segments (the allowed direction is the line's direction)."""

from dataclasses import asdict, dataclass
from typing import Self

from schemas import RiderAlert
from streams.detectors.base import RiderContext, build_alert
from streams.primitives.fix import Fix
from streams.primitives.geo import heading_difference_deg
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "detector.wrong_way"
VERSION = 1

# Fixes against the flow further apart than this do not make one episode.
_MAX_GAP_MS = 30_000


@dataclass(slots=True)
class _Episode:
    segment: str
    start_ts: int
    last_ts: int
    max_speed_kmh: float
    alerted: bool = False


class WrongWayDetector:
    __slots__ = ("_cooldown_until", "_episode")

    def __init__(self) -> None:
        self._episode: _Episode | None = None
        self._cooldown_until = 0

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[RiderAlert]:
        if not ctx.zones.segments:
            return []
        cfg = ctx.settings.wrong_way
        ep = self._episode
        if ep is not None and fix.ts - ep.last_ts > _MAX_GAP_MS:
            ep = self._episode = None
        if fix.course_deg is None or fix.speed_kmh is None or fix.speed_kmh < cfg.min_speed_kmh:
            return []
        match = ctx.zones.nearest_one_way(fix.lat, fix.lon, cfg.match_distance_m)
        if match is None:
            self._episode = None
            return []
        segment, _ = match
        against = heading_difference_deg(fix.course_deg, (segment.bearing_deg + 180) % 360)
        if against > cfg.opposite_within_deg:
            self._episode = None
            return []
        if ep is None or ep.segment != segment.name:
            ep = self._episode = _Episode(segment.name, fix.ts, fix.ts, fix.speed_kmh)
        ep.last_ts = fix.ts
        ep.max_speed_kmh = max(ep.max_speed_kmh, fix.speed_kmh)
        if ep.alerted or fix.ts - ep.start_ts < cfg.min_duration_s * 1000:
            return []
        ep.alerted = True
        if ep.start_ts < self._cooldown_until:
            return []
        self._cooldown_until = fix.ts + int(cfg.cooldown_s * 1000)
        evidence = {"segment": segment.name, "duration_s": round((fix.ts - ep.start_ts) / 1000, 1),
                    "max_speed_kmh": round(ep.max_speed_kmh, 1), "start_ts": ep.start_ts}
        return [build_alert(ctx, "wrong_way", "warning", fix.ts, evidence,
                            identity=(segment.name, ep.start_ts), segment=segment.name)]

    def close(self, ctx: RiderContext) -> list[RiderAlert]:
        return []

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        episode = None if self._episode is None else asdict(self._episode)
        return versioned(KIND, VERSION, episode=episode, cooldown_until=self._cooldown_until)

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        detector = cls()
        episode = values["episode"]
        detector._episode = None if episode is None else _Episode(**episode)
        detector._cooldown_until = values["cooldown_until"]
        return detector
