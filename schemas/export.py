"""Write the JSON Schema of every topic's value under schemas/json/, or check for drift."""

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.inputs import (
    AlertReview,
    GpsPing,
    OrderEvent,
    PointRedemption,
    RiderProfile,
    WeatherEvent,
)
from schemas.outputs import (
    AreaRiskChange,
    DeadLetter,
    OrderExemption,
    PointsChange,
    RiderAlert,
    RiderSubsidy,
    ScoreDelta,
)

# Default topic name -> value model.
TOPIC_MODELS: dict[str, type[BaseModel]] = {
    "rider-gps": GpsPing,
    "order-events": OrderEvent,
    "weather-events": WeatherEvent,
    "rider-alert-reviews": AlertReview,
    "rider-point-redemptions": PointRedemption,
    "rider-profiles": RiderProfile,
    "rider-alerts": RiderAlert,
    "rider-score-deltas": ScoreDelta,
    "order-exemptions": OrderExemption,
    "rider-subsidies": RiderSubsidy,
    "rider-safety-points": PointsChange,
    "area-risk": AreaRiskChange,
    "dead-letters": DeadLetter,
}


def value_schema(topic: str, model: type[BaseModel]) -> dict:
    """What a reader of `topic` may rely on: what Knightwatch accepts on an input, what it
    writes on an output."""
    return model.model_json_schema(mode="validation" if topic in _INPUTS else "serialization")


def render(topic: str, model: type[BaseModel]) -> str:
    schema = value_schema(topic, model)
    schema["$id"] = f"https://knightwatch.dev/schemas/{topic}.schema.json"
    schema["title"] = f"{topic}: {schema.get('title', model.__name__)}"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


_INPUTS = {"rider-gps", "order-events", "weather-events", "rider-alert-reviews",
           "rider-point-redemptions", "rider-profiles"}


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, model in TOPIC_MODELS.items():
        path = directory / f"{topic}.schema.json"
        path.write_text(render(topic, model), encoding="utf-8")
        written.append(path)
    return written


def check_schemas(directory: Path) -> list[str]:
    """Names of the schema files that are missing or differ from the models."""
    drift = []
    for topic, model in TOPIC_MODELS.items():
        path = directory / f"{topic}.schema.json"
        if not path.exists() or path.read_text(encoding="utf-8") != render(topic, model):
            drift.append(path.name)
    return drift
