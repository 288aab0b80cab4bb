"""The replay file format: JSON Lines of Kafka-like records {"topic", "key", "value"}."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any, BinaryIO

import msgspec
import orjson
from pydantic import BaseModel

from schemas import DeadLetter
from streams.config.topics import TopicNames
from streams.primitives.decode import (
    MAX_RAW_BYTES,
    MAX_RECORD_BYTES,
    dead_letter,
    decode_value,
    quoted,
    raw_prefix,
    shown_value,
    too_large,
)
from streams.primitives.emissions import Emission
from streams.primitives.events import Ping
from streams.primitives.fast_decode import decode_gps_record


@dataclass(frozen=True, slots=True)
class ParsedLine:
    topic: str  # the record's topic, "" when the line has none
    # The line as received (its first MAX_RAW_BYTES bytes): the raw of its dead letter when it
    # is not a record at all. A record's dead letter holds its value instead (`record_value`).
    raw: str
    # A valid rider-gps record comes as a compact Ping (the core takes either form), any other
    # valid record as its pydantic model.
    value: BaseModel | Ping | DeadLetter
    # The envelope's optional `timestamp` (epoch ms): when the record arrived, as a Kafka
    # record's timestamp says; the core refuses a record dated well after it.
    arrival_ts: int | None = None


def parse_line(line: bytes, roles: dict[str, str], *, fast: bool = True) -> ParsedLine:
    """`fast`: try the msgspec decoder first, which only ever takes a line the pydantic path
    would turn into a GpsPing, and gives the same values as a Ping. False: pydantic only."""
    size = len(line)
    if size > MAX_RECORD_BYTES:
        size = len(line.rstrip(b"\r\n"))  # the line ending is not the record's
        if size > MAX_RECORD_BYTES:
            return too_large_line(line[:MAX_RAW_BYTES], size)
    # Only ever used in dead letters, which keep at most the first MAX_RAW_BYTES bytes.
    raw = (line.decode("utf-8", errors="replace") if size <= MAX_RAW_BYTES
           else raw_prefix(line)).rstrip("\r\n")
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
    # A record's dead letter holds its value as the worker reads it from the topic, not the
    # envelope around it, so that both write the same dead letter for the same record.
    value = record_value(line, record["value"])
    if value is None:
        return ParsedLine(topic, raw, dead_letter(topic, key, raw, _TOO_DEEP))
    value_text = value.decode("utf-8", "replace")
    role = roles.get(topic) if isinstance(record["topic"], str) else None
    if role is None:
        shown = quoted(topic) if isinstance(record["topic"], str) else topic[:40]
        return ParsedLine(topic, raw, dead_letter(topic, key, value_text,
                                                  f"unknown input topic {shown}"))
    arrival = record.get("timestamp")
    if arrival is not None and (type(arrival) is not int or not 0 <= arrival < 2**53):
        return ParsedLine(topic, raw, dead_letter(
            topic, key, value_text, "invalid timestamp: the envelope's arrival time must be "
            f"epoch milliseconds, got {shown_value(arrival)}"))
    # Parsed from its bytes as the worker parses a Kafka value, so both refuse it alike.
    return ParsedLine(topic, raw, decode_value(role, topic, key, value, value_text), arrival)


class _ValueOnly(msgspec.Struct):
    value: msgspec.Raw


_value_slice = msgspec.json.Decoder(_ValueOnly).decode


# msgspec skips nested JSON by recursion, orjson does not: a value nested near Python's
# recursion limit is JSON to orjson but cannot be sliced out. No model takes such a value.
_TOO_DEEP = "value nested too deep: not parsed"


def record_value(line: bytes, value: Any) -> bytes | None:
    """The Kafka value a replay line stands for, given `value`, its envelope's `value` as orjson
    parsed it: a JSON string's text as UTF-8, any other JSON value exactly as it is spelled in
    the line (spacing, key order, escapes and all). A duplicated `value` is its last, as orjson
    has it. None for a value nested too deep to be sliced out."""
    if isinstance(value, str):
        return value.encode("utf-8")
    try:
        return bytes(_value_slice(line).value)
    except (msgspec.DecodeError, RecursionError):
        return None


def too_large_line(head: bytes, size: int) -> ParsedLine:
    """The dead letter of a line of `size` bytes, over MAX_RECORD_BYTES, of which only `head`
    (its first bytes) was read: it is not parsed, so its topic and key are unknown."""
    raw = raw_prefix(head)
    return ParsedLine("", raw, dead_letter("", None, raw, too_large(size)))


UTF8_BOM = b"\xef\xbb\xbf"


class OverlongLine(bytes):
    """The head (first MAX_RAW_BYTES bytes) of a line over MAX_RECORD_BYTES; `size` is the whole
    line's length. The rest of it was never held."""

    size: int


def _overlong(line: bytes, size: int) -> OverlongLine:
    head = OverlongLine(line[:MAX_RAW_BYTES])
    head.size = size
    return head


class LineReader:
    """The lines of a replay file, streamed, each without its ending: LF, CRLF and a lone CR all
    end a line (files saved on any system read the same), empty lines are dropped, and a UTF-8
    byte-order mark opening the file is skipped, not read into the first record. A line longer
    than MAX_RECORD_BYTES is never held whole: it comes as an OverlongLine, for `too_large_line`.
    Memory stays within a chunk (1 MiB) and a record."""

    def __init__(self, source: BinaryIO, chunk_size: int = 1 << 20) -> None:
        # read1 returns what a pipe has now, where read would wait for a whole chunk.
        self._read = getattr(source, "read1", None) or source.read
        self._chunk_size = chunk_size
        self.bytes_read = 0  # from the source so far, for progress

    def _chunks(self) -> Iterator[bytes]:
        read, size = self._read, self._chunk_size
        first = b""
        while len(first) < len(UTF8_BOM):  # a pipe may hand over the mark in pieces
            chunk = read(size)
            if not chunk:
                break
            self.bytes_read += len(chunk)
            first += chunk
        first = first.removeprefix(UTF8_BOM)
        if first:
            yield first
        while chunk := read(size):
            self.bytes_read += len(chunk)
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        # Lines come in batches, a chunk's worth, chained in C: no Python step per line.
        return chain.from_iterable(self._batches())

    def _batches(self) -> Iterator[Iterable[bytes]]:
        limit = MAX_RECORD_BYTES
        carry = b""  # the unfinished last line, never over `limit`
        skipping, head = -1, b""  # the size so far and the head of an over-long line
        for chunk in self._chunks():
            if skipping >= 0:
                # A CR byte is never inside a JSON line (a string holds it escaped), so the
                # first CR or LF ends the line.
                end = min((i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0),
                          default=-1)
                if end < 0:
                    skipping += len(chunk)
                    continue
                yield (_overlong(head, skipping + end),)
                skipping = -1
                chunk = chunk[end + 1:]
                if not chunk:
                    continue
            if b"\r" in chunk:
                # bytes.splitlines ends lines at LF, CRLF and a lone CR, and nothing else. A CRLF
                # cut between two chunks gives an empty line, which is dropped.
                lines = chunk.splitlines()
                lines[0] = carry + lines[0]
                carry = b"" if chunk[-1] in b"\r\n" else lines.pop()
            else:  # the usual file: split is faster
                lines = chunk.split(b"\n")
                lines[0] = carry + lines[0]
                carry = lines.pop()
            if lines and max(map(len, lines)) > limit:
                lines = [_overlong(line, len(line)) if len(line) > limit else line
                         for line in lines]
            yield filter(None, lines)
            if len(carry) > limit:
                skipping, head, carry = len(carry), carry[:MAX_RAW_BYTES], b""
        if skipping >= 0:
            yield (_overlong(head, skipping),)
        elif carry:
            yield (carry,)


def format_emission(emission: Emission, topics: TopicNames) -> bytes:
    return orjson.dumps({
        "topic": topics.output(emission.stream),
        "key": emission.key,
        "value": emission.value.model_dump(mode="json"),
    }) + b"\n"
