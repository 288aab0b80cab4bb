"""JSON Schemas of the fleet's internal records (streams/worker/codec.py and the checkpoints),
for the AsyncAPI document. `$ref`s point into its components, where the input models are.
Draft 07, AsyncAPI's own schema dialect: a tuple is `items` as a list."""

from typing import Any

_INPUT_KINDS = {"gps": "GpsPing", "order": "OrderEvent", "review": "AlertReview",
                "redemption": "PointRedemption", "weather": "WeatherEvent"}
_INT = {"type": "integer"}
_EPOCH_MS = {"type": "integer", "description": "Event time, epoch ms UTC."}


def _forwarded(kind: str, model: str) -> dict[str, Any]:
    return {
        "type": "object", "title": f"Forwarded {model}",
        "properties": {
            "k": {"const": kind},
            "s": {"type": "array", "items": [_INT, _INT], "minItems": 2, "maxItems": 2,
                  "description": "(partition, offset) of the input record it was read from; "
                  "a rider partition drops a record it has already had from there."},
            "v": {"$ref": f"#/components/schemas/{model}"},
        },
        "required": ["k", "v"], "additionalProperties": False,
    }


RIDER_EVENT: dict[str, Any] = {
    "title": "RiderEvent",
    "description": "One record for a rider partition: a validated input record (weather goes "
    "to every partition), an input partition's word on how far it has forwarded, or a "
    "congestion judge's judgement (to every partition).",
    "oneOf": [
        *(_forwarded(kind, model) for kind, model in _INPUT_KINDS.items()),
        {"type": "object", "title": "InputProgress",
         "properties": {"k": {"const": "progress"}, "topic": {"type": "string"}, "p": _INT,
                        "until": _EPOCH_MS, "caught_up": {"type": "boolean"},
                        "sent": {"type": "integer", "description": "The input partition's "
                                 "wall clock when it said so, epoch ms."}},
         "required": ["k", "topic", "p", "until", "caught_up", "sent"],
         "additionalProperties": False},
        {"type": "object", "title": "AreaJudgement",
         "properties": {"k": {"const": "judgement"}, "judge": _INT, "until": _EPOCH_MS,
                        "congested": {"type": "array", "items": {
                            "type": "array", "minItems": 4, "maxItems": 4,
                            "description": "cell, window start (epoch ms), mean km/h, "
                            "usual km/h",
                            "items": [{"type": "string"}, _INT, {"type": "number"},
                                      {"type": "number"}]}}},
         "required": ["k", "judge", "until", "congested"], "additionalProperties": False},
    ],
}

AREA_PROGRESS: dict[str, Any] = {
    "title": "AreaProgress", "type": "object",
    "description": "A rider partition's shares of finished congestion windows for one judge, "
    "and how far (event time) it has got.",
    "properties": {
        "source": {"type": "integer", "description": "The rider partition."},
        "until": _EPOCH_MS,
        "partials": {"type": "array", "items": {
            "type": "array", "minItems": 5, "maxItems": 5,
            "description": "window start (epoch ms), cell, sum of speeds (km/h), fixes, riders",
            "items": [_INT, {"type": "string"}, {"type": "number"}, _INT,
                      {"type": "array", "items": {"type": "string"}}]}},
    },
    "required": ["source", "until", "partials"], "additionalProperties": False,
}

CHECKPOINT: dict[str, Any] = {
    "title": "Checkpoint",
    "description": "A versioned snapshot of plain values (streams/primitives/snapshot.py), "
    "rebuilt with the settings in force at restore; null is a tombstone (a rider forgotten).",
    "oneOf": [
        {"type": "object", "properties": {"kind": {"type": "string"}, "v": _INT},
         "required": ["kind", "v"]},
        {"type": "null"},
    ],
}
