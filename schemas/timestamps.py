"""Event time: integer epoch milliseconds, UTC. RFC 3339 strings are accepted and normalised."""

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

# Plausible event time on input: 2000-01-01T00:00Z .. 2100-01-01T00:00Z, both included. A value
# outside is almost always seconds (1.7e9) or microseconds (1.7e15) sent where milliseconds were
# expected, or a phone clock reset to 1970; either would silently break every window, and a
# far-future time would move event time on and make every later record late. Fixed bounds rather
# than "near now", so that a replay of an old file decides the same as it did live.
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000

# Outputs are computed from valid inputs, sometimes a window or a validity period away from
# them: their bounds leave a year either side so a valid input can never make an invalid output.
_YEAR_MS = 366 * 86_400_000
MIN_OUTPUT_TS_MS = MIN_TS_MS - _YEAR_MS
MAX_OUTPUT_TS_MS = MAX_TS_MS + _YEAR_MS

# RFC 3339 date-time (section 5.6), the offset checked on its own for a clearer message.
# datetime.fromisoformat alone takes far more of ISO 8601 (week dates, basic format, no seconds).
# ASCII: \d would take any Unicode digit.
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)([Zz]|[+-]\d{2}:\d{2})?", re.ASCII)
_DIGITS = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?", re.ASCII)


def _shown(text: str, limit: int = 40) -> str:
    # Error messages go into dead letters: never quote a long input whole.
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def to_epoch_ms(value: Any) -> Any:
    """Whole epoch milliseconds from an int, a whole float or an RFC 3339 string with an offset.
    Anything else is left to the int validation after it (which refuses it) or refused here with
    a clearer message."""
    if isinstance(value, bool):
        # A bool is an int in Python; `true` as a time is a producer bug, not 1 ms.
        raise ValueError("must be epoch milliseconds or an RFC 3339 string, not a boolean")
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.fullmatch(text):
            # Every other number on the wire is refused as a string; so is this one.
            raise ValueError("epoch milliseconds must be a JSON number, not a string")
        match = _RFC3339.fullmatch(text)
        if match is None:
            raise ValueError(f"not an RFC 3339 timestamp: {_shown(value)}")
        if match.group(2) is None:
            raise ValueError(f"timestamp {_shown(value)} has no UTC offset")
        try:
            parsed = datetime.fromisoformat(match.group(1).upper() + match.group(2).upper())
            return round(parsed.timestamp() * 1000)
        except (ValueError, OverflowError) as exc:  # e.g. month 13, or a leap second
            raise ValueError(f"not an RFC 3339 timestamp: {_shown(value)}") from exc
    if isinstance(value, float):
        if not value.is_integer():  # a fraction, inf or nan
            raise ValueError("must be whole epoch milliseconds")
        return int(value)
    return value


# Bounds before the validator, so the JSON Schema shows them as minimum/maximum; what the wire may
# carry (an integer in range, or an RFC 3339 string) is the schema's input type.
InputMillis = Annotated[
    int,
    Field(
        ge=MIN_TS_MS,
        le=MAX_TS_MS,
        description="Event time, integer epoch milliseconds UTC (an RFC 3339 string with an offset"
        " is accepted and normalised), 2000-01-01 to 2100-01-01: outside is a unit error (seconds"
        " or microseconds) or a reset clock.",
    ),
    BeforeValidator(to_epoch_ms, json_schema_input_type=Annotated[
        int, Field(ge=MIN_TS_MS, le=MAX_TS_MS)] | AwareDatetime),
]
EpochMillis = Annotated[
    int,
    Field(
        ge=MIN_OUTPUT_TS_MS,
        le=MAX_OUTPUT_TS_MS,
        description="Event time, integer epoch milliseconds UTC.",
    ),
    BeforeValidator(to_epoch_ms),
]
