"""Small builders for test events: a ping, a straight ride, a run of the core."""

import random
from collections.abc import Iterable

from schemas import AlertReview, GpsPing, OrderEvent, PointRedemption, WeatherEvent
from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from streams.primitives.emissions import Emission
from streams.primitives.geo import offset
from streams.primitives.zones import ZoneMap

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


def redemption(redemption_id: str, points: int, t_s: float, rider: str = "r1",
               reward: str = "helmet") -> PointRedemption:
    return PointRedemption(redemption_id=redemption_id, rider_id=rider,
                           ts=T0 + int(t_s * 1000), points=points, reward=reward)


def run_core(events: Iterable, settings: DetectionSettings | None = None,
             zones: ZoneMap | None = None, advance_every: int = 25) -> list[Emission]:
    """Feed events in the given (arrival) order, moving the area clock as a worker would."""
    core = KnightwatchCore(settings, zones)
    out: list[Emission] = []
    for i, event in enumerate(events, 1):
        out.extend(core.ingest(event))
        if i % advance_every == 0:
            out.extend(core.advance())
    out.extend(core.close())
    return out


def lifecycle(order_id: str, rider: str = "r1", *, accept_s: float = 0,
              promised_s: float = 1800, delivered_s: float = 1500,
              arrived_s: float | None = None, ready_s: float | None = None,
              pickup_s: float | None = None, unreachable_s: float | None = None) -> list:
    """The order events of one delivery; merchant steps default to early in the order."""
    arrived_s = accept_s + 120 if arrived_s is None else arrived_s
    ready_s = arrived_s + 60 if ready_s is None else ready_s
    pickup_s = ready_s + 30 if pickup_s is None else pickup_s
    events = [
        order(order_id, "accepted", accept_s, rider, promised_s=promised_s),
        order(order_id, "arrived_at_merchant", arrived_s, rider),
        order(order_id, "food_ready", ready_s, rider),
        order(order_id, "picked_up", pickup_s, rider),
        order(order_id, "delivered", delivered_s, rider),
    ]
    if unreachable_s is not None:
        events.append(order(order_id, "customer_unreachable", unreachable_s, rider))
    return events


def of(emissions: list[Emission], stream: str) -> list:
    return [e.value for e in emissions if e.stream == stream]


def alerts(emissions: list[Emission], kind: str | None = None) -> list:
    return [e.value for e in emissions
            if e.stream == "alerts" and (kind is None or e.value.kind == kind)]


def deltas(emissions: list[Emission]) -> list:
    return [e.value for e in emissions if e.stream == "deltas"]


def by_time(events: list) -> list:
    return sorted(events, key=lambda e: e.ts)
