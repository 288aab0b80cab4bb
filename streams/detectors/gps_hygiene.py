"""GPS hygiene: drop inaccurate fixes, reject jumps, and estimate speed and course."""

from typing import Self

from schemas import RiderAlert
from streams.detectors.base import RiderContext, build_alert
from streams.primitives.events import Ping
from streams.primitives.fix import Fix
from streams.primitives.geo import bearing_deg, haversine_m
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "detector.gps_hygiene"
VERSION = 1


class GpsCleaner:
    """Turns raw pings into trustworthy fixes; a rejected fix never reaches the detectors."""

    __slots__ = ("_candidates", "_history", "_last_anomaly_ts", "dropped_inaccurate", "rejected")

    def __init__(self) -> None:
        # Accepted (ts, lat, lon), oldest first. A list: an empty deque costs ~760 bytes a
        # rider, and this holds a minute of fixes.
        self._history: list[tuple[int, float, float]] = []
        self._candidates: list[Ping] = []  # fixes agreeing with each other, not the track
        self._last_anomaly_ts: int | None = None
        self.dropped_inaccurate = 0
        self.rejected = 0

    def clean(self, ping: Ping, ctx: RiderContext) -> tuple[Fix | None, RiderAlert | None]:
        cfg = ctx.settings.gps
        if ping.accuracy_m is not None and ping.accuracy_m > cfg.max_accuracy_m:
            self.dropped_inaccurate += 1
            return None, None
        if self._history:
            last_ts, last_lat, last_lon = self._history[-1]
            if ping.ts <= last_ts:
                # Two different fixes for one instant: the first (in event-time order) wins.
                return None, None
            if self._is_jump(last_ts, last_lat, last_lon, ping, ctx):
                return self._on_jump(ping, last_ts, last_lat, last_lon, ctx)
        self._candidates.clear()
        return self._accept(ping, ctx), None

    def _is_jump(self, ts: int, lat: float, lon: float, ping: Ping, ctx: RiderContext) -> bool:
        cfg = ctx.settings.gps
        distance = haversine_m(lat, lon, ping.lat, ping.lon)
        if distance < cfg.jump_min_distance_m:
            return False
        return distance / ((ping.ts - ts) / 1000) * 3.6 > cfg.teleport_speed_kmh

    def _on_jump(
        self, ping: Ping, last_ts: int, last_lat: float, last_lon: float, ctx: RiderContext
    ) -> tuple[Fix | None, RiderAlert | None]:
        cfg = ctx.settings.gps
        if self._candidates:
            prev = self._candidates[-1]
            if ping.ts > prev.ts and not self._is_jump(prev.ts, prev.lat, prev.lon, ping, ctx):
                self._candidates.append(ping)
                if len(self._candidates) >= cfg.relocate_after_fixes:
                    # The old track was the wrong one, or the rider really was carried (a lift
                    # in a van): restart it here, never deriving speed across the jump.
                    self._candidates.clear()
                    self._history.clear()
                    return self._accept(ping, ctx), None
                return None, None
        self._candidates = [ping]
        self.rejected += 1
        distance = haversine_m(last_lat, last_lon, ping.lat, ping.lon)
        dt_s = (ping.ts - last_ts) / 1000
        if (
            self._last_anomaly_ts is not None
            and ping.ts - self._last_anomaly_ts < cfg.anomaly_alert_cooldown_s * 1000
        ):
            return None, None
        self._last_anomaly_ts = ping.ts
        alert = build_alert(
            ctx,
            "gps_anomaly",
            "info",
            ping.ts,
            {
                "jump_m": round(distance, 1),
                "interval_s": round(dt_s, 3),
                "implied_speed_kmh": round(distance / dt_s * 3.6, 1),
                "device_speed_kmh": ping.speed_kmh,
            },
            identity=(ping.ts,),
        )
        return None, alert

    def _accept(self, ping: Ping, ctx: RiderContext) -> Fix:
        cfg = ctx.settings.gps
        history = self._history
        horizon = ping.ts - int(cfg.derived_speed_max_span_s * 1000)
        old = 0
        while old < len(history) and history[old][0] < horizon:
            old += 1
        if old:
            del history[:old]
        derived = None
        course = ping.heading_deg
        min_span_ms = cfg.derived_speed_min_span_s * 1000
        min_seg = ctx.settings.harsh.min_segment_m
        # Walk back to the newest fix at least min_span old: the shortest span that is still
        # long enough to drown fix noise.
        need_derived = ping.speed_kmh is None
        for ts, lat, lon in reversed(history):
            if need_derived and derived is None and ping.ts - ts >= min_span_ms:
                derived = haversine_m(lat, lon, ping.lat, ping.lon) / ((ping.ts - ts) / 1000) * 3.6
            if (course is None and ping.ts - ts <= 6000
                    and haversine_m(lat, lon, ping.lat, ping.lon) >= min_seg):
                course = bearing_deg(lat, lon, ping.lat, ping.lon)
            if (derived is not None or not need_derived) and (
                course is not None or ping.ts - ts > 6000
            ):
                break
        history.append((ping.ts, ping.lat, ping.lon))
        if ping.speed_kmh is not None:
            speed, source = ping.speed_kmh, "device"
        elif derived is not None:
            speed, source = derived, "derived"
        else:
            speed, source = None, None
        return Fix(ping.ts, ping.lat, ping.lon, speed, source, ping.speed_kmh, course,
                   ping.heading_deg, ping.city)

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return versioned(
            KIND, VERSION,
            history=[list(entry) for entry in self._history],
            candidates=[_ping_to_plain(p) for p in self._candidates],
            last_anomaly_ts=self._last_anomaly_ts,
            dropped_inaccurate=self.dropped_inaccurate,
            rejected=self.rejected,
        )

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        cleaner = cls()
        # JSON turns the (ts, lat, lon) tuples into lists: rebuild what _accept appends.
        cleaner._history = [(ts, lat, lon) for ts, lat, lon in values["history"]]
        cleaner._candidates = [Ping(*p) for p in values["candidates"]]
        cleaner._last_anomaly_ts = values["last_anomaly_ts"]
        cleaner.dropped_inaccurate = values["dropped_inaccurate"]
        cleaner.rejected = values["rejected"]
        return cleaner


def _ping_to_plain(ping: Ping) -> list:
    # Field order of Ping, so restore is Ping(*values).
    return [ping.rider_id, ping.ts, ping.lat, ping.lon, ping.speed_kmh, ping.heading_deg,
            ping.accuracy_m, ping.city]
