"""Compact in-memory form of a validated GPS fix.

A pydantic model instance carries a per-instance dict and fields-set (about 1 KiB); a rider's
reorder buffer holds a lateness period of fixes, so buffered fixes are kept in this slotted
form (about 120 bytes) instead.
"""

from dataclasses import dataclass

from schemas import GpsPing

# A rider-gps record whose rider_id starts with this only moves event time forward: gateways
# send one to each partition so a quiet partition still closes its windows.
HEARTBEAT_PREFIX = "__heartbeat__"


# Not frozen, though never changed once made: a frozen dataclass's __init__ sets each field
# through object.__setattr__, about five times slower, and two are made per fix.
@dataclass(slots=True)
class Ping:
    rider_id: str
    ts: int
    lat: float
    lon: float
    speed_kmh: float | None
    heading_deg: float | None
    accuracy_m: float | None
    city: str | None

    @classmethod
    def of(cls, m: GpsPing) -> "Ping":
        return cls(m.rider_id, m.ts, m.lat, m.lon, m.speed_kmh, m.heading_deg, m.accuracy_m,
                   m.city)

    def model_dump_json(self) -> str:
        return GpsPing(rider_id=self.rider_id, ts=self.ts, lat=self.lat, lon=self.lon,
                       speed_kmh=self.speed_kmh, heading_deg=self.heading_deg,
                       accuracy_m=self.accuracy_m, city=self.city).model_dump_json()
