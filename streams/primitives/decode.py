"""Raw records to typed events, or to a dead letter that says why not."""

from typing import Any

from pydantic import BaseModel, ValidationError

from schemas import AlertReview, DeadLetter, GpsPing, OrderEvent, WeatherEvent

INPUT_MODELS: dict[str, type[BaseModel]] = {
    "gps": GpsPing,
    "orders": OrderEvent,
    "weather": WeatherEvent,
    "reviews": AlertReview,
}
# The field a record's key must equal, per input.
KEY_FIELDS = {"gps": "rider_id", "orders": "order_id", "weather": "city", "reviews": "rider_id"}

_MAX_ERRORS = 3


def describe(exc: ValidationError) -> str:
    errors = exc.errors()
    if errors and errors[0]["type"] == "json_invalid":
        return f"not JSON: {errors[0]['msg']}"
    parts = []
    for err in exc.errors()[:_MAX_ERRORS]:
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - _MAX_ERRORS
    return "invalid " + "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def dead_letter(source_topic: str, key: str | None, raw: str, error: str) -> DeadLetter:
    return DeadLetter(source_topic=source_topic, key=key, raw=raw, error=error)


def decode_value(
    role: str, source_topic: str, key: str | None, value: Any, raw: str
) -> BaseModel | DeadLetter:
    """`value` is parsed JSON (a dict) or the raw JSON text/bytes of the value."""
    model = INPUT_MODELS[role]
    try:
        if isinstance(value, str | bytes):
            event = model.model_validate_json(value)
        else:
            event = model.model_validate(value)
    except ValidationError as exc:
        return dead_letter(source_topic, key, raw, describe(exc))
    except ValueError as exc:  # malformed JSON text
        return dead_letter(source_topic, key, raw, f"not JSON: {exc}")
    key_field = KEY_FIELDS[role]
    expected = getattr(event, key_field)
    if key is not None and key != expected:
        return dead_letter(source_topic, key, raw,
                           f"key {key!r} does not match {key_field} {expected!r}")
    return event
