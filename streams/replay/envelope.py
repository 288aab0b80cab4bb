"""The replay file format: JSON Lines of Kafka-like records {"topic", "key", "value"}."""

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel

from schemas import DeadLetter
from streams.config.topics import TopicNames
from streams.primitives.decode import dead_letter, decode_value
from streams.primitives.emissions import Emission
from streams.primitives.events import Ping
from streams.primitives.fast_decode import decode_gps_record


@dataclass(frozen=True, slots=True)
class ParsedLine:
    topic: str  # the record's topic, "" when the line has none
    raw: str  # the line as received, for dead letters
    # A valid rider-gps record comes as a compact Ping (the core takes either form), any other
    # valid record as its pydantic model.
    value: BaseModel | Ping | DeadLetter


def parse_line(line: bytes, roles: dict[str, str], *, fast: bool = True) -> ParsedLine:
    """`fast`: try the msgspec decoder first, which only ever takes a line the pydantic path
    would turn into a GpsPing, and gives the same values as a Ping. False: pydantic only."""
    raw = line.decode("utf-8", errors="replace").rstrip("\r\n")
    if fast:
        hit = decode_gps_record(line, roles)
        if hit is not None:
            return ParsedLine(hit[0], raw, hit[1])
    try:
        record: Any = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return ParsedLine("", raw, dead_letter("", None, raw, f"not JSON: {exc}"))
    if not isinstance(record, dict) or "topic" not in record or "value" not in record:
        return ParsedLine("", raw, dead_letter(
            "", None, raw, "not a record: expected an object with topic and value"))
    topic = str(record["topic"])
    key = record.get("key")
    if key is not None and not isinstance(key, str):
        key = str(key)
    role = roles.get(topic) if isinstance(record["topic"], str) else None
    if role is None:
        return ParsedLine(topic, raw, dead_letter(topic, key, raw,
                                                  f"unknown input topic {record['topic']!r}"))
    return ParsedLine(topic, raw, decode_value(role, topic, key, record["value"], raw))


def format_emission(emission: Emission, topics: TopicNames) -> bytes:
    return orjson.dumps({
        "topic": topics.output(emission.stream),
        "key": emission.key,
        "value": emission.value.model_dump(mode="json"),
    }) + b"\n"
