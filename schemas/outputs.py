"""Output topics: rider-alerts, rider-score-deltas, order-exemptions, rider-subsidies,
area-risk and dead-letters."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.timestamps import EpochMillis

_OUTPUT = ConfigDict(extra="forbid", frozen=True)

AlertKind = Literal[
    "speeding",
    "harsh_braking",
    "harsh_acceleration",
    "harsh_cornering",
    "restricted_zone",
    "wrong_way",
    "phone_use",
    "fatigue",
    "severe_weather",
    "congestion",
    "gps_anomaly",
]
Severity = Literal["info", "warning", "critical"]
Tier = Literal["A", "B", "C", "D"]
ExemptionReason = Literal[
    "weather", "congestion", "merchant_delay", "customer_unreachable", "safety_slowdown"
]
Evidence = dict[str, float | int | str | bool | None]


class LocalizedMessage(BaseModel):
    """What a voice reminder would say, in Chinese and English."""

    model_config = _OUTPUT

    zh: str
    en: str


class RiderAlert(BaseModel):
    """A detection about one rider. Key: rider_id."""

    model_config = _OUTPUT

    alert_id: str = Field(description="Derived from the inputs: the same input, the same id.")
    rider_id: str
    ts: EpochMillis
    kind: AlertKind
    severity: Severity
    message: LocalizedMessage
    evidence: Evidence
    realtime: bool = Field(
        default=False,
        description="True when the alert left with the fix that met its rule, that fix being "
        "fresh (within timing.realtime_max_age_s of the stream's event time): a voice client "
        "may read it out. False for a late firing, found only once late or out-of-order data "
        "was put in event-time order, or for a stale fix: record it, do not read it out.")


class ScoreDelta(BaseModel):
    """A change of a rider's safety score. Key: rider_id."""

    model_config = _OUTPUT

    delta_id: str = Field(description="Derived from its cause; apply each id once.")
    rider_id: str
    ts: EpochMillis
    delta: int
    reason: str
    ref: str = Field(description="The alert_id or order_id this delta comes from.")
    score: int = Field(ge=0, description="The score after this delta.")
    tier: Tier
    evidence: Evidence = Field(
        default_factory=dict,
        description="For a penalty, the alert's final evidence: for speeding, whose reminder "
        "leaves at onset, the whole episode's peak, length and final severity.")


class OrderExemption(BaseModel):
    """The timeout decision for one late order. Key: order_id."""

    model_config = _OUTPUT

    decision_id: str
    order_id: str
    rider_id: str
    ts: EpochMillis = Field(description="Delivery time.")
    promised_ts: EpochMillis
    late_by_s: int = Field(ge=0)
    exempt: bool
    reasons: list[ExemptionReason]
    evidence: dict[str, Evidence]


class RiderSubsidy(BaseModel):
    """A delivery completed under a severe-weather warning. Key: rider_id."""

    model_config = _OUTPUT

    subsidy_id: str
    rider_id: str
    order_id: str
    ts: EpochMillis
    city: str
    warning_level: str
    condition: str


class PointsChange(BaseModel):
    """A change of a rider's safety-points balance, or a redemption refused. Key: rider_id."""

    model_config = _OUTPUT

    change_id: str = Field(description="Derived from its cause; apply each id once.")
    rider_id: str
    ts: EpochMillis
    points: int = Field(description="Earned (> 0), spent (< 0), or 0 for a refused redemption.")
    reason: Literal["safe_delivery", "severe_weather_delivery", "safe_riding_day",
                    "redemption", "redemption_refused"]
    ref: str = Field(description="The order_id or redemption_id this change comes from, or "
                     "the local date (YYYY-MM-DD, the rider's city's time zone) of a safe "
                     "riding day.")
    balance: int = Field(ge=0, description="The balance after this change.")
    reward: str | None = None
    refused: str | None = Field(default=None, description="Why a redemption was refused.")


class AreaRiskChange(BaseModel):
    """A map cell changing congestion state. Key: cell."""

    model_config = _OUTPUT

    change_id: str
    cell: str
    ts: EpochMillis = Field(description="Start of the window that decided the change.")
    window_end_ts: EpochMillis
    state: Literal["congested", "clear"]
    mean_speed_kmh: float
    usual_speed_kmh: float
    riders: int


class DeadLetter(BaseModel):
    """A record that was rejected, with the reason."""

    model_config = _OUTPUT

    source_topic: str
    key: str | None
    raw: str = Field(description=(
        "The record's value as received, as text; for a record refused after it was read (late,"
        " clock ahead, order lifecycle), its canonical JSON; for a replay line that is not a"
        " record at all, the line. Its first 1 KiB at most."))
    error: str
