"""Fast path for the replay hot path: a whole rider-gps JSON line straight to a compact Ping.

orjson + pydantic + Ping.of costs about 6 µs per GPS record; msgspec decodes and validates the
same envelope in well under 1 µs. This decoder only ever *accepts* a line the pydantic path
(`streams.replay.envelope.parse_line` with `decode_value`) would accept, and then gives exactly
the values pydantic would give. Anything else - another topic, an invalid or merely unusual
record - returns None, and the caller falls back to the pydantic path, which produces today's
dead letter or event. Correctness over coverage: whenever the two could disagree, we fall back.

The input models are strict (no bool or string for a number, finite numbers only), as msgspec
is: both refuse `true`, "1.5" and "inf" for a float. Deliberately left to the slow path:
- fields or envelope keys this decoder does not know (pydantic ignores them). msgspec skips an
  unknown field without the checks orjson makes on it (an invalid UTF-8 string or a number like
  1e400 in it is fine for msgspec, "not JSON" for orjson), so accepting them could accept a line
  the pydantic path rejects;
- floats for `ts` and RFC 3339 `ts` strings, which pydantic normalises; msgspec refuses them;
- a key that is not a string (parse_line compares its str() to rider_id), and no key or a null
  one (a dead letter);
- a line over MAX_RECORD_BYTES (a dead letter, unread).

A change to `schemas.GpsPing` must be mirrored in `_GpsValue` below; a test pins the contract.
"""

from collections.abc import Mapping
from typing import Annotated

import msgspec
import orjson

from schemas.inputs import CITY_MAX_LEN, ID_MAX_LEN, MAX_ACCURACY_M, MAX_SPEED_KMH
from schemas.timestamps import MAX_TS_MS, MIN_TS_MS
from streams.primitives.decode import MAX_RECORD_BYTES
from streams.primitives.events import Ping

# What pydantic's `str_strip_whitespace` strips: pydantic-core trims with Rust's
# `char::is_whitespace` (Unicode White_Space). Python's bare str.strip() also strips
# U+001C..U+001F, which pydantic keeps, so the set is spelled out.
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# GpsPing.rider_id: Field(min_length=1, max_length=128) and city: max_length=64, checked after
# stripping.
_ID_MIN_LEN = 1
_ID_MAX_LEN = ID_MAX_LEN
_CITY_MAX_LEN = CITY_MAX_LEN

# Bounds as in GpsPing. msgspec checks them after turning a JSON integer into a float, as
# pydantic does, and refuses booleans and strings as pydantic's strict mode does. Every float
# has an upper bound, so an infinity (1e400) is refused by both.
_Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
_Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
_Speed = Annotated[float, msgspec.Meta(ge=0, le=MAX_SPEED_KMH)]
_Heading = Annotated[float, msgspec.Meta(ge=0, lt=360)]
_Accuracy = Annotated[float, msgspec.Meta(ge=0, le=MAX_ACCURACY_M)]
# InputMillis: only a JSON integer takes the fast path (msgspec refuses 1.7e12 and strings).
_EpochMillis = Annotated[int, msgspec.Meta(ge=MIN_TS_MS, le=MAX_TS_MS)]


class _GpsValue(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # Every field is typed, so msgspec fully decodes (and so checks) every byte of the value,
    # duplicate keys included (the last one wins, as with orjson).
    rider_id: str
    ts: _EpochMillis
    lat: _Lat
    lon: _Lon
    speed_kmh: _Speed | None = None
    heading_deg: _Heading | None = None
    accuracy_m: _Accuracy | None = None
    city: str | None = None


class _GpsEnvelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    topic: str
    value: _GpsValue
    key: str | None = None


_decode = msgspec.json.Decoder(_GpsEnvelope).decode
_decode_value = msgspec.json.Decoder(_GpsValue).decode

# The JSON spelling of the gps topics of the last `roles` seen (held, so compared by identity).
_gps_needles: tuple[Mapping[str, str] | None, tuple[bytes, ...]] = (None, ())


def _needles(roles: Mapping[str, str]) -> tuple[bytes, ...]:
    global _gps_needles
    seen, needles = _gps_needles
    if seen is not roles:
        needles = tuple(orjson.dumps(topic) for topic, role in roles.items() if role == "gps")
        _gps_needles = (roles, needles)
    return needles


def decode_gps_record(line: bytes, roles: Mapping[str, str]) -> tuple[str, Ping] | None:
    """(topic, ping) for a valid rider-gps line, else None: then use the pydantic path.

    `roles` maps topic -> input role as for parse_line; any topic whose role is "gps" counts.
    """
    # A line that does not spell a gps topic plainly is left to the slow path without trying:
    # a failed msgspec decode (an exception) costs about 1 µs, on every order or weather line.
    # Only a shortcut: should `roles` have changed in place, the check below still decides.
    for needle in _needles(roles):
        if needle in line:
            break
    else:
        return None
    # parse_line's to refuse, unread; as there, the line ending does not count.
    if len(line) > MAX_RECORD_BYTES and len(line.rstrip(b"\r\n")) > MAX_RECORD_BYTES:
        return None
    try:
        envelope = _decode(line)
    except msgspec.DecodeError:  # ValidationError included: not for the fast path
        return None
    topic = envelope.topic
    # Looked up per line, as parse_line does, so the answer follows `roles` exactly.
    if roles.get(topic) != "gps":
        return None
    key = envelope.key
    if key is None:  # every input is keyed: a dead letter
        return None
    ping = _ping(envelope.value)
    # decode_value compares the key as given with the stripped rider_id.
    if ping is None or key != ping.rider_id:
        return None
    return topic, ping


def _ping(value: _GpsValue) -> Ping | None:
    """The Ping of a decoded value once its strings are stripped as pydantic strips them; None
    when a stripped string is out of its bounds (for the pydantic path to refuse)."""
    rider_id = value.rider_id.strip(_WHITESPACE)
    if not _ID_MIN_LEN <= len(rider_id) <= _ID_MAX_LEN:
        return None
    city = value.city
    if city is not None:
        city = city.strip(_WHITESPACE)
        if len(city) > _CITY_MAX_LEN:
            return None
    return Ping(rider_id, value.ts, value.lat, value.lon, value.speed_kmh, value.heading_deg,
                value.accuracy_m, city)


def decode_gps_value(value: bytes, key: str) -> Ping | None:
    """The Ping of a valid rider-gps record value (a Kafka record's bytes) keyed by `key`, as
    decode_value gives it; else None: then use decode_value. The worker's fast path, with the
    same contract as decode_gps_record's."""
    if len(value) > MAX_RECORD_BYTES:  # decode_value's to refuse, unread
        return None
    try:
        decoded = _decode_value(value)
    except msgspec.DecodeError:  # ValidationError included: not for the fast path
        return None
    ping = _ping(decoded)
    # decode_value compares the key as given with the stripped rider_id.
    return ping if ping is not None and ping.rider_id == key else None


def decode_gps_line(line: bytes, roles: Mapping[str, str]) -> Ping | None:
    """The Ping of a valid rider-gps line, else None (see decode_gps_record)."""
    hit = decode_gps_record(line, roles)
    return None if hit is None else hit[1]
