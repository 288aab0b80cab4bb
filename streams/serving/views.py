"""What the HTTP API answers: the served data as response models (the OpenAPI document's
schemas are generated from them)."""

from pydantic import BaseModel, ConfigDict, Field

from schemas.outputs import RiderAlert, Tier
from streams.config.thresholds import OrderClass

_VIEW = ConfigDict(extra="forbid", frozen=True)


class Privileges(BaseModel):
    """What the rider's tier lets them take."""

    model_config = _VIEW

    rider_id: str
    tier: Tier
    may_take_orders: bool = Field(description="False in tier D: no new orders.")
    order_classes: list[OrderClass]
    max_concurrent_orders: int = Field(ge=0)
    priority_dispatch: bool
    refresher_course: bool = Field(description="The safety refresher course is required.")


class RiderView(BaseModel):
    """A rider as the serving layer knows them."""

    model_config = _VIEW

    rider_id: str
    score: int = Field(ge=0, description="The latest committed safety score.")
    tier: Tier
    privileges: Privileges
    points: int = Field(ge=0, description="The safety-points balance.")
    city: str | None
    on_delivery: bool = Field(description="Carries an order now (accepted, not yet delivered "
                              "or cancelled).")
    first_aid_certified: bool
    certified_until: int | None = Field(description="Certificate expiry, epoch ms.")
    last_alerts: list[RiderAlert] = Field(description="The latest committed alerts, newest "
                                          "first.")


class LeaderboardEntry(BaseModel):
    model_config = _VIEW

    rank: int = Field(ge=1)
    rider_id: str
    score: int = Field(ge=0)
    points: int = Field(ge=0)


class Leaderboard(BaseModel):
    """A city's role-model leaderboard, best first."""

    model_config = _VIEW

    city: str
    riders: list[LeaderboardEntry]


class FirstAider(BaseModel):
    model_config = _VIEW

    rider_id: str
    distance_m: float = Field(ge=0)
    lat: float
    lon: float
    seen_ts: int = Field(description="Event time of the position, epoch ms.")
    certified_until: int = Field(description="Certificate expiry, epoch ms.")


class FirstAiders(BaseModel):
    """Certified riders near a point, nearest first: certificate valid, position fresh, no
    order under way."""

    model_config = _VIEW

    riders: list[FirstAider]


class ReviewAccepted(BaseModel):
    model_config = _VIEW

    alert_id: str
    topic: str = Field(description="Where the review was written.")


class ApiError(BaseModel):
    """Every 4xx answer."""

    model_config = _VIEW

    error: str = Field(description="What went wrong, for a person.")
    parameter: str | None = Field(default=None, description="The parameter at fault.")
