"""Input topics: rider-gps, order-events, weather-events, rider-alert-reviews,
rider-point-redemptions, rider-profiles.

What a producer may send is checked for plausibility, not only type: every input is hostile
until validated, and one implausible value (an `inf` speed, a fix 1e9 km/h fast) wrecks a
rider's score long after it was accepted. On the wire, in both decode paths (a parsed dict or
raw JSON):
- numbers are JSON numbers: no bool (`true` is not 1.0) and no string ("90" is not 90), finite
  only (no NaN or infinity, not as strings either); an integer is taken where a float is expected,
  as JSON has no distinction;
- every number has both bounds and every string a maximum length, each with its reason below.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.timestamps import InputMillis

# strict: no coercion from bool or str to a number; allow_inf_nan: finite numbers only.
_INPUT = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True, strict=True,
                    allow_inf_nan=False)

# Lengths in characters after whitespace is stripped.
ID_MAX_LEN = 128
# The longest place names in use are under 60 characters; a city is a name or a code.
CITY_MAX_LEN = 64
# A reviewer is a login or an email address (at most 254 characters by RFC 5321).
REVIEWER_MAX_LEN = 254
# Fastest plausible reading from a rider's device: well beyond any e-bike, e-scooter or delivery
# motorbike. A reading above is a sensor fault, and it would raise a speeding alert.
MAX_SPEED_KMH = 200
# Horizontal accuracy: 10 km is already a cell-tower-level fix; more is a sentinel or a fault.
MAX_ACCURACY_M = 10_000
# Weather extremes, beyond the world records (-89.2 °C at Vostok, 56.7 °C in Death Valley,
# 305 mm of rain in 42 minutes at Holt, a 113 m/s gust on Barrow Island).
MIN_TEMPERATURE_C = -90
MAX_TEMPERATURE_C = 70
MAX_PRECIP_MM_H = 500
MAX_WIND_MPS = 120

NonEmptyId = Field(min_length=1, max_length=ID_MAX_LEN,
                   description=f"An id, 1 to {ID_MAX_LEN} characters.")
_CITY = f"A city name or code, at most {CITY_MAX_LEN} characters."
_LAT = "WGS 84 latitude, degrees."
_LON = "WGS 84 longitude, degrees."


class GpsPing(BaseModel):
    """One fix from a rider's phone. Key: rider_id."""

    model_config = _INPUT

    rider_id: str = NonEmptyId
    ts: InputMillis
    lat: float = Field(ge=-90, le=90, description=_LAT)
    lon: float = Field(ge=-180, le=180, description=_LON)
    speed_kmh: float | None = Field(
        default=None, ge=0, le=MAX_SPEED_KMH,
        description=f"Device ground speed, at most {MAX_SPEED_KMH} km/h: beyond any two-wheeler;"
        " a reading above is a sensor fault.")
    heading_deg: float | None = Field(
        default=None, ge=0, lt=360, description="Course over ground, degrees from north, [0, 360).")
    accuracy_m: float | None = Field(
        default=None, ge=0, le=MAX_ACCURACY_M,
        description=f"Horizontal accuracy, at most {MAX_ACCURACY_M} m: a fix less accurate than"
        " a cell tower's says nothing about a rider's street.")
    city: str | None = Field(default=None, max_length=CITY_MAX_LEN, description=_CITY)


OrderEventType = Literal[
    "created",
    "accepted",
    "arrived_at_merchant",
    "food_ready",
    "picked_up",
    "arrived_at_customer",
    "customer_unreachable",
    "delivered",
    "cancelled",
]


class OrderEvent(BaseModel):
    """A step in an order's lifecycle. Key: order_id."""

    model_config = _INPUT

    order_id: str = NonEmptyId
    rider_id: str = NonEmptyId
    ts: InputMillis
    type: OrderEventType
    promised_ts: InputMillis | None = Field(
        default=None, description="Promised delivery deadline; carried at least on `accepted`."
    )
    city: str | None = Field(default=None, max_length=CITY_MAX_LEN, description=_CITY)
    lat: float | None = Field(default=None, ge=-90, le=90, description=_LAT)
    lon: float | None = Field(default=None, ge=-180, le=180, description=_LON)


WeatherCondition = Literal[
    "clear",
    "cloudy",
    "fog",
    "haze",
    "rain",
    "heavy_rain",
    "rainstorm",
    "thunderstorm",
    "snow",
    "blizzard",
    "ice",
    "high_temperature",
    "typhoon",
]
WarningLevel = Literal["none", "blue", "yellow", "orange", "red"]

WEATHER_DEFAULT_VALIDITY_MS = 3_600_000
# A warning is re-issued as it goes on, not announced for weeks: a longer validity is a typo or an
# attack that would keep a city under a red warning (and every order subsidised) for good.
WEATHER_MAX_VALIDITY_MS = 7 * 86_400_000


class WeatherEvent(BaseModel):
    """Weather and the CMA warning colour in force for a city. Key: city."""

    model_config = _INPUT

    city: str = Field(min_length=1, max_length=CITY_MAX_LEN, description=_CITY)
    ts: InputMillis
    valid_until: InputMillis | None = Field(
        default=None,
        description="End of validity; one hour after ts when absent, at most 7 days after it.",
    )
    condition: WeatherCondition
    warning_level: WarningLevel = "none"
    temperature_c: float | None = Field(
        default=None, ge=MIN_TEMPERATURE_C, le=MAX_TEMPERATURE_C,
        description="Air temperature, °C; beyond the world records either way is a fault.")
    precip_mm_h: float | None = Field(
        default=None, ge=0, le=MAX_PRECIP_MM_H,
        description=f"Precipitation rate, at most {MAX_PRECIP_MM_H} mm/h: above the heaviest"
        " hour of rain ever recorded.")
    wind_mps: float | None = Field(
        default=None, ge=0, le=MAX_WIND_MPS,
        description=f"Wind speed, at most {MAX_WIND_MPS} m/s: above the strongest gust ever"
        " measured.")

    @model_validator(mode="after")
    def _default_validity(self) -> "WeatherEvent":
        if self.valid_until is None:
            object.__setattr__(self, "valid_until", self.ts + WEATHER_DEFAULT_VALIDITY_MS)
        elif self.valid_until <= self.ts:
            raise ValueError("valid_until must be after ts")
        elif self.valid_until - self.ts > WEATHER_MAX_VALIDITY_MS:
            raise ValueError("valid_until must be at most 7 days after ts")
        return self


class AlertReview(BaseModel):
    """A human reviewer's verdict on an alert. Key: rider_id."""

    model_config = _INPUT

    alert_id: str = NonEmptyId
    rider_id: str = NonEmptyId
    ts: InputMillis
    verdict: Literal["upheld", "dismissed"]
    reviewer: str | None = Field(
        default=None, max_length=REVIEWER_MAX_LEN,
        description=f"Who reviewed: a login or an email address, at most {REVIEWER_MAX_LEN}"
        " characters.")


class PointRedemption(BaseModel):
    """A rider spending safety points on a reward. Key: rider_id. Refused, with its reason on
    `rider-safety-points`, when the balance at its event time is short."""

    model_config = _INPUT

    redemption_id: str = NonEmptyId
    rider_id: str = NonEmptyId
    ts: InputMillis
    points: int = Field(gt=0, le=1_000_000, description="Points to spend, at least 1.")
    reward: str = Field(min_length=1, max_length=128, description="What they are spent on.")


class RiderProfile(BaseModel):
    """What the rider-management system knows of a rider that Knightwatch serves: their first-aid
    certification. Key: rider_id. Read by the serving layer, not by detection: the latest record
    per rider stands."""

    model_config = _INPUT

    rider_id: str = NonEmptyId
    first_aid_certified: bool
    certified_until: InputMillis | None = Field(
        default=None, description="When the first-aid certificate expires; required when "
        "first_aid_certified (certificates are time-limited, typically 2-3 years).")

    @model_validator(mode="after")
    def _certificate_expires(self) -> "RiderProfile":
        if self.first_aid_certified and self.certified_until is None:
            raise ValueError("certified_until is required when first_aid_certified is true")
        return self
