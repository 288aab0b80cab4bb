"""A GPS fix after hygiene: the position and the best speed and course estimates."""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
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
