"""A rider riding an order: moving between stops, standing still at each order action."""

from tests.builders import by_time, lifecycle, ride

STOP_HALF_S = 20


def delivery_ride(rider: str = "r1", *, duration_s: float, stops_s: list[float],
                  speed_kmh: float = 18, slow_after_s: float | None = None,
                  slow_kmh: float = 12, start: tuple[float, float] | None = None,
                  every_s: float = 4, heading_deg: float = 90) -> list:
    speeds = []
    for i in range(int(duration_s // every_s) + 1):
        t = i * every_s
        v = slow_kmh if slow_after_s is not None and t >= slow_after_s else speed_kmh
        speeds.append(0.0 if any(abs(t - s) <= STOP_HALF_S for s in stops_s) else v)
    kwargs = {"start": start} if start is not None else {}
    return ride(rider, speed_kmh=speeds, duration_s=duration_s, every_s=every_s,
                heading_deg=heading_deg, **kwargs)


def delivery(order_id: str = "o1", rider: str = "r1", *, promised_s: float,
             delivered_s: float, accept_s: float = 0, arrived_s: float = 120,
             ready_s: float | None = None, unreachable_s: float | None = None,
             speed_kmh: float = 18, slow_after_s: float | None = None, slow_kmh: float = 12,
             ride_until_s: float | None = None) -> list:
    """Order events plus the rider's fixes, in event-time order."""
    ready = arrived_s + 60 if ready_s is None else ready_s
    pickup = ready + 10
    stops = [accept_s, arrived_s, ready, pickup, delivered_s]
    if unreachable_s is not None:
        stops.append(unreachable_s)
    events = lifecycle(order_id, rider, accept_s=accept_s, promised_s=promised_s,
                       delivered_s=delivered_s, arrived_s=arrived_s, ready_s=ready,
                       pickup_s=pickup, unreachable_s=unreachable_s)
    fixes = delivery_ride(rider, duration_s=ride_until_s or delivered_s + 120, stops_s=stops,
                          speed_kmh=speed_kmh, slow_after_s=slow_after_s, slow_kmh=slow_kmh)
    return by_time(events + fixes)
