"""Fatigue: hours ridden without a break, and riding time per local day. Reminders only."""

from typing import Self

from schemas import RiderAlert
from streams.detectors.base import RiderContext, build_alert
from streams.primitives.fix import Fix
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "detector.fatigue"
VERSION = 1

_DAY_MS = 86_400_000


class FatigueDetector:
    __slots__ = (
        "_day",
        "_day_alerted",
        "_day_ms",
        "_last_moving_ts",
        "_stretch_start",
        "_stretch_warned",
    )

    def __init__(self) -> None:
        self._last_moving_ts: int | None = None
        self._stretch_start: int = 0
        self._stretch_warned = False
        self._day: int | None = None
        self._day_ms = 0
        self._day_alerted = False

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[RiderAlert]:
        cfg = ctx.settings.fatigue
        if fix.speed_kmh is None or fix.speed_kmh < cfg.moving_speed_kmh:
            return []
        alerts: list[RiderAlert] = []
        last = self._last_moving_ts
        if last is None or fix.ts - last >= cfg.break_min_s * 1000:
            self._stretch_start = fix.ts
            self._stretch_warned = False
        elif fix.ts - last <= cfg.max_interval_s * 1000:
            self._add_riding(last, fix.ts, cfg.day_utc_offset_h)
        self._last_moving_ts = fix.ts
        continuous_ms = fix.ts - self._stretch_start
        if not self._stretch_warned and continuous_ms > cfg.continuous_warning_s * 1000:
            self._stretch_warned = True
            hours = cfg.continuous_warning_s / 3600
            alerts.append(build_alert(
                ctx, "fatigue", "warning", fix.ts,
                {"rule": "continuous", "continuous_s": continuous_ms // 1000,
                 "stretch_start_ts": self._stretch_start},
                identity=("continuous", self._stretch_start), template="fatigue_continuous",
                hours=hours))
        if not self._day_alerted and self._day_ms > cfg.daily_critical_s * 1000:
            self._day_alerted = True
            alerts.append(build_alert(
                ctx, "fatigue", "critical", fix.ts,
                {"rule": "daily", "riding_s": self._day_ms // 1000, "day": self._day},
                identity=("daily", self._day), template="fatigue_daily",
                hours=cfg.daily_critical_s / 3600))
        return alerts

    @property
    def riding_ms_today(self) -> int:
        return self._day_ms

    def close(self, ctx: RiderContext) -> list[RiderAlert]:
        return []

    def _add_riding(self, start: int, end: int, offset_h: float) -> None:
        offset = int(offset_h * 3_600_000)
        day = (end + offset) // _DAY_MS
        if day != self._day:
            # Riding that straddles midnight counts towards the new day only from midnight.
            self._day, self._day_ms, self._day_alerted = day, 0, False
            start = max(start, day * _DAY_MS - offset)
        self._day_ms += end - start

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return versioned(
            KIND, VERSION,
            last_moving_ts=self._last_moving_ts,
            stretch_start=self._stretch_start,
            stretch_warned=self._stretch_warned,
            day=self._day,
            day_ms=self._day_ms,
            day_alerted=self._day_alerted,
        )

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        detector = cls()
        detector._last_moving_ts = values["last_moving_ts"]
        detector._stretch_start = values["stretch_start"]
        detector._stretch_warned = values["stretch_warned"]
        detector._day = values["day"]
        detector._day_ms = values["day_ms"]
        detector._day_alerted = values["day_alerted"]
        return detector
