"""Knightwatch's event contract: one pydantic model per topic, exported as JSON Schema."""

from schemas.inputs import (
    AlertReview,
    GpsPing,
    OrderEvent,
    OrderEventType,
    PointRedemption,
    RiderProfile,
    WeatherEvent,
)
from schemas.outputs import (
    AlertKind,
    AreaRiskChange,
    DeadLetter,
    LocalizedMessage,
    OrderExemption,
    PointsChange,
    RiderAlert,
    RiderSubsidy,
    ScoreDelta,
    Severity,
)

__all__ = [
    "AlertKind",
    "AlertReview",
    "AreaRiskChange",
    "DeadLetter",
    "GpsPing",
    "LocalizedMessage",
    "OrderEvent",
    "OrderEventType",
    "OrderExemption",
    "PointRedemption",
    "PointsChange",
    "RiderAlert",
    "RiderProfile",
    "RiderSubsidy",
    "ScoreDelta",
    "Severity",
    "WeatherEvent",
]
