"""Small builders for test events: a ping, a straight ride, a run of the core."""

import random
from collections.abc import Iterable

from schemas import AlertReview, GpsPing, OrderEvent, WeatherEvent
from streams.config.thresholds import DetectionSettings
from streams.core.emissions import Emission
from streams.core.geo import offset
from streams.core.processor import KnightwatchCore
from streams.core.zones import ZoneMap

T0 = 1_784_080_800_000  # 2026-07-15T02:00:00Z, 10:00 in Shanghai
ORIGIN = (31.2300, 121.4700)


def ping(rider: str = "r1", t_s: float = 0, lat: float = ORIGIN[0], lon: float = ORIGIN[1],
         speed: float | None = None, heading: float | None = None,
         accuracy: float | None = 5.0, city: str | None = "shanghai") -> GpsPing:
    return GpsPing(rider_id=rider, ts=T0 + int(t_s * 1000), lat=lat, lon=lon, speed_kmh=speed,
                   heading_deg=heading, accuracy_m=accuracy, city=city)


def ride(rider: str = "r1", *, start_s: float = 0, duration_s: float = 120,
         speed_kmh: float | list[float] = 18, every_s: float = 4, heading_deg: float = 90,
         start: tuple[float, float] = ORIGIN, noise_m: float = 0.0, device_speed: bool = True,
         device_heading: bool = True, seed: int = 1) -> list[GpsPing]:
    """A ride along a straight line; `speed_kmh` may give one speed per ping."""
    rng = random.Random(seed)
    import math

    north = math.cos(math.radians(heading_deg))
    east = math.sin(math.radians(heading_deg))
    pings, travelled, t = [], 0.0, 0.0
    n = int(duration_s // every_s) + 1
    speeds = speed_kmh if isinstance(speed_kmh, list) else [speed_kmh] * n
    for i in range(min(n, len(speeds))):
        v = speeds[i]
        if i > 0:
            travelled += (speeds[i - 1] + v) / 2 / 3.6 * every_s
        lat, lon = offset(start[0], start[1], north * travelled + rng.gauss(0, noise_m),
                          east * travelled + rng.gauss(0, noise_m))
        pings.append(ping(rider, start_s + t, lat, lon,
                          speed=v if device_speed else None,
                          heading=heading_deg % 360 if device_heading else None))
        t += every_s
    return pings


def order(order_id: str, type_: str, t_s: float, rider: str = "r1",
          promised_s: float | None = None, city: str = "shanghai") -> OrderEvent:
    return OrderEvent(order_id=order_id, rider_id=rider, ts=T0 + int(t_s * 1000), type=type_,
                      promised_ts=None if promised_s is None else T0 + int(promised_s * 1000),
                      city=city)


def weather(t_s: float, *, level: str = "orange", condition: str = "rainstorm",
            minutes: float = 60, city: str = "shanghai", **extra) -> WeatherEvent:
    return WeatherEvent(city=city, ts=T0 + int(t_s * 1000),
                        valid_until=T0 + int((t_s + minutes * 60) * 1000),
                        condition=condition, warning_level=level, **extra)


def review(alert_id: str, verdict: str, t_s: float, rider: str = "r1") -> AlertReview:
    return AlertReview(alert_id=alert_id, rider_id=rider, ts=T0 + int(t_s * 1000),
                       verdict=verdict)


def run_core(events: Iterable, settings: DetectionSettings | None = None,
             zones: ZoneMap | None = None) -> list[Emission]:
    core = KnightwatchCore(settings, zones)
    out: list[Emission] = []
    for event in events:
        out.extend(core.ingest(event))
    out.extend(core.close())
    return out


def alerts(emissions: list[Emission], kind: str | None = None) -> list:
    return [e.value for e in emissions
            if e.stream == "alerts" and (kind is None or e.value.kind == kind)]


def deltas(emissions: list[Emission]) -> list:
    return [e.value for e in emissions if e.stream == "deltas"]


def by_time(events: list) -> list:
    return sorted(events, key=lambda e: e.ts)
