"""Event time: integer epoch milliseconds, UTC. RFC 3339 strings are accepted and normalised."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

# Plausible event time: 2001-09-09 .. 2286-11-20. A value outside is almost always seconds or
# microseconds sent where milliseconds were expected, which would silently break every window.
MIN_TS_MS = 1_000_000_000_000
MAX_TS_MS = 9_999_999_999_999


def to_epoch_ms(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no UTC offset")
        return round(parsed.timestamp() * 1000)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("ts must be whole epoch milliseconds")
        return int(value)
    return value


EpochMillis = Annotated[
    int,
    BeforeValidator(to_epoch_ms),
    Field(
        ge=MIN_TS_MS,
        le=MAX_TS_MS,
        description="Event time, integer epoch milliseconds UTC (RFC 3339 accepted on input).",
    ),
]
