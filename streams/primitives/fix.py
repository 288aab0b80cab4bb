"""A GPS fix after hygiene: the position and the best speed and course estimates."""

from dataclasses import dataclass
from typing import Literal


# Not frozen, though never changed once made: a frozen dataclass's __init__ sets each field
# through object.__setattr__, about five times slower, and two are made per fix.
@dataclass(slots=True)
class Fix:
    ts: int
    lat: float
    lon: float
    speed_kmh: float | None  # best estimate; None while unknown
    speed_source: Literal["device", "derived"] | None
    device_speed_kmh: float | None
    course_deg: float | None  # device heading, else a bearing over a long enough segment
    device_heading_deg: float | None
    city: str | None
