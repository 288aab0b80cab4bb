"""Raw records to typed events, or to a dead letter that says why not."""

import codecs
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas import (
    AlertReview,
    DeadLetter,
    GpsPing,
    OrderEvent,
    PointRedemption,
    RiderProfile,
    WeatherEvent,
)

INPUT_MODELS: dict[str, type[BaseModel]] = {
    "gps": GpsPing,
    "orders": OrderEvent,
    "weather": WeatherEvent,
    "reviews": AlertReview,
    "redemptions": PointRedemption,
    "profiles": RiderProfile,
}
# The field a record's key must equal, per input. Every input topic is keyed: the key routes a
# record to the partition holding its rider, order or city.
KEY_FIELDS = {"gps": "rider_id", "orders": "order_id", "weather": "city", "reviews": "rider_id",
              "redemptions": "rider_id", "profiles": "rider_id"}

# The largest record parsed at all, in bytes: a replay line (its whole envelope) or a Kafka value.
# A valid record is well under 2 KiB (every string at its bound, escaped); the rest leaves room
# for fields producers add and we ignore. A larger one is dead-lettered unread, so one 50 MB
# record costs neither the memory nor the parse of 50 MB.
MAX_RECORD_BYTES = 64 * 1024
# A dead letter's `raw` is at most the first this many bytes of the record (cut at a character).
MAX_RAW_BYTES = 1024
# A dead letter's source_topic and key are cut to this many characters (Kafka topic names are at
# most 249; an id at most 128), its error to MAX_ERROR_CHARS.
_MAX_NAME_CHARS = 256
_MAX_ERROR_CHARS = 512

_MAX_ERRORS = 3


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def quoted(text: str, limit: int = 40) -> str:
    """`text` quoted for an error message, cut short: the whole of it is in `raw`."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def raw_prefix(data: bytes) -> str:
    """The first MAX_RAW_BYTES bytes of a record as text, never ending in a cut character."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    # final=False holds back a trailing incomplete sequence instead of replacing it.
    return decoder.decode(data[:MAX_RAW_BYTES], final=False)


def bounded_raw(raw: str) -> str:
    """`raw` cut to its first MAX_RAW_BYTES bytes of UTF-8."""
    if len(raw) <= MAX_RAW_BYTES // 4:  # at most 4 bytes a character: short enough as it is
        return raw
    head = raw[:MAX_RAW_BYTES].encode("utf-8", "surrogatepass")
    if len(head) <= MAX_RAW_BYTES and len(raw) <= MAX_RAW_BYTES:
        return raw
    return raw_prefix(head)


def too_large(size: int) -> str:
    return f"record too large: {size} bytes, over the {MAX_RECORD_BYTES}-byte limit; not parsed"


def shown_value(value: Any) -> str:
    """What a value was, in JSON's words, short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return _cut(repr(value), 40)
    if isinstance(value, str):
        return quoted(value, 24) if len(value) <= 24 else f"a string of {len(value)} characters"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def describe(exc: ValidationError) -> str:
    errors = exc.errors()
    if errors and errors[0]["type"] == "json_invalid":
        return f"not JSON: {errors[0]['msg']}"
    parts = []
    for err in errors[:_MAX_ERRORS]:
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        msg = err["msg"].removeprefix("Value error, ")
        # Say what was sent where it helps: '"90"' for a number, 1e9 for a speed. Not for a
        # missing field or our own messages, which say it already.
        if err["type"] not in ("missing", "value_error"):
            msg += f", got {shown_value(err['input'])}"
        parts.append(f"{loc}: {msg}")
    more = exc.error_count() - _MAX_ERRORS
    return "invalid " + "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def dead_letter(source_topic: str, key: str | None, raw: str, error: str) -> DeadLetter:
    # Everything in a dead letter is bounded: a hostile record must not be copied whole.
    return DeadLetter(source_topic=_cut(source_topic, _MAX_NAME_CHARS),
                      key=None if key is None else _cut(key, _MAX_NAME_CHARS),
                      raw=bounded_raw(raw), error=_cut(error, _MAX_ERROR_CHARS))


def _utf8_size(value: str | bytes) -> int:
    if isinstance(value, bytes) or len(value) <= MAX_RECORD_BYTES // 4:
        return len(value)  # for a short str, a lower bound: enough to say it is within the limit
    return len(value.encode("utf-8", "surrogatepass"))


def decode_value(
    role: str, source_topic: str, key: str | None, value: Any, raw: str
) -> BaseModel | DeadLetter:
    """`value` is parsed JSON (a dict) or the raw JSON text/bytes of the value; `key` the record's
    key as text, None when it has none."""
    model = INPUT_MODELS[role]
    if isinstance(value, str | bytes):
        size = _utf8_size(value)
        if size > MAX_RECORD_BYTES:
            return dead_letter(source_topic, key, raw, too_large(size))
    key_field = KEY_FIELDS[role]
    if key is None:
        # Unkeyed, it would land on a partition chosen at random, away from its rider's state.
        return dead_letter(source_topic, key, raw,
                           f"no key: {source_topic} records are keyed by {key_field}")
    try:
        if isinstance(value, str | bytes):
            event = model.model_validate_json(value)
        else:
            event = model.model_validate(value)
    except ValidationError as exc:
        return dead_letter(source_topic, key, raw, describe(exc))
    except ValueError as exc:  # malformed JSON text
        return dead_letter(source_topic, key, raw, f"not JSON: {exc}")
    expected = getattr(event, key_field)
    if key != expected:
        return dead_letter(source_topic, key, raw,
                           f"key {quoted(key)} does not match {key_field} {quoted(expected)}")
    return event
