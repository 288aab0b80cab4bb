"""An input record as the worker first reads it: decoded and validated, or a dead letter with
the reason, exactly as replay writes it."""

from pydantic import BaseModel

from schemas import DeadLetter, GpsPing, WeatherEvent
from streams.config.settings import KnightwatchSettings
from streams.pipeline.clock import clock_ahead
from streams.primitives.decode import dead_letter, decode_value
from streams.primitives.events import HEARTBEAT_PREFIX, Ping
from streams.primitives.fast_decode import decode_gps_value


def read_input(settings: KnightwatchSettings, role: str, topic: str, key: bytes | None,
               value: bytes | None, timestamp_ms: int | None) -> BaseModel | Ping | DeadLetter:
    """`timestamp_ms`: the Kafka record's timestamp, its arrival as far as Knightwatch can
    tell; a record dated well after it is refused here, before it reaches any rider. A valid
    GPS record comes back as a compact Ping (fast_decode.py, half of pydantic's cost), any
    other record as its model."""
    text_key = key.decode("utf-8", "replace") if key is not None else None
    ahead_ms = int(settings.detection.timing.max_clock_ahead_s * 1000)
    if role == "gps" and value is not None and text_key is not None:
        ping = decode_gps_value(value, text_key)
        # Anything unusual (a heartbeat, a clock ahead, a record to refuse) takes the path
        # below, which says exactly what replay says of it.
        if ping is not None and not ping.rider_id.startswith(HEARTBEAT_PREFIX) \
                and clock_ahead(ping.ts, timestamp_ms, ahead_ms) is None:
            return ping
    raw = (value or b"").decode("utf-8", "replace")
    parsed = decode_value(role, topic, text_key, value or b"", raw)
    # Heartbeats come from the gateway and weather from a trusted service: not phones.
    if isinstance(parsed, DeadLetter | WeatherEvent) or (
            isinstance(parsed, GpsPing) and parsed.rider_id.startswith(HEARTBEAT_PREFIX)):
        return parsed
    ahead = clock_ahead(parsed.ts, timestamp_ms, ahead_ms)  # type: ignore[union-attr]
    if ahead is None:
        return parsed
    # Refused once read, as replay's core refuses it: its raw is its canonical JSON.
    return dead_letter(topic, text_key, parsed.model_dump_json(), ahead)  # type: ignore[union-attr]


def dead_letter_output(settings: KnightwatchSettings,
                       letter: DeadLetter) -> tuple[str, bytes | None, bytes, None]:
    """Keyed by the dead letter's own key (cut short, as replay keys it), not the record's key
    bytes, which may be of any length."""
    key = None if letter.key is None else letter.key.encode()
    return (settings.topics.dead_letters, key, letter.model_dump_json().encode(), None)
