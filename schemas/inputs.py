"""Input topics: rider-gps, order-events, weather-events, rider-alert-reviews."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.timestamps import EpochMillis

_INPUT = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

NonEmptyId = Field(min_length=1, max_length=128)


class GpsPing(BaseModel):
    """One fix from a rider's phone. Key: rider_id."""

    model_config = _INPUT

    rider_id: str = NonEmptyId
    ts: EpochMillis
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    speed_kmh: float | None = Field(default=None, ge=0, description="Device ground speed.")
    heading_deg: float | None = Field(default=None, ge=0, lt=360)
    accuracy_m: float | None = Field(default=None, ge=0)
    city: str | None = None


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
    ts: EpochMillis
    type: OrderEventType
    promised_ts: EpochMillis | None = Field(
        default=None, description="Promised delivery deadline; carried at least on `accepted`."
    )
    city: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


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


class WeatherEvent(BaseModel):
    """Weather and the CMA warning colour in force for a city. Key: city."""

    model_config = _INPUT

    city: str = NonEmptyId
    ts: EpochMillis
    valid_until: EpochMillis | None = Field(
        default=None, description="End of validity; one hour after ts when absent."
    )
    condition: WeatherCondition
    warning_level: WarningLevel = "none"
    temperature_c: float | None = Field(default=None, ge=-90, le=70)
    precip_mm_h: float | None = Field(default=None, ge=0)
    wind_mps: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _default_validity(self) -> "WeatherEvent":
        if self.valid_until is None:
            object.__setattr__(self, "valid_until", self.ts + WEATHER_DEFAULT_VALIDITY_MS)
        elif self.valid_until <= self.ts:
            raise ValueError("valid_until must be after ts")
        return self


class AlertReview(BaseModel):
    """A human reviewer's verdict on an alert. Key: rider_id."""

    model_config = _INPUT

    alert_id: str = NonEmptyId
    rider_id: str = NonEmptyId
    ts: EpochMillis
    verdict: Literal["upheld", "dismissed"]
    reviewer: str | None = None
