"""A dead letter's `raw` is the record's value as a Kafka topic holds it, byte for byte, not the
replay envelope around it: a record refused through `knightwatch replay` and through the
worker's ingest stage gives one and the same dead letter, under the same key."""

import io
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import DeadLetter
from streams.config.settings import load_settings
from streams.primitives.decode import MAX_RAW_BYTES
from streams.replay.envelope import parse_line, record_value
from streams.replay.runner import replay
from streams.worker.ingest_partition import IngestPartition

SETTINGS = load_settings()
TOPICS = SETTINGS.topics
ROLES = TOPICS.input_roles()
GPS = TOPICS.gps.encode()

# Bad values as a file spells them: odd spacing, tabs, key order, raw and escaped non-ASCII.
ODD_OBJECT = ('{ "ts" :\t"soon" ,"rider_id":"r9",  "lat":31.2,"lon" : 121.4,'
              ' "city":"上海 \\u00e9\\ud83d\\ude00 \\"q\\"" }').encode()
BAD_VALUES = {
    "object": ODD_OBJECT,
    "object-over-a-kib": b'{"rider_id": "r9", "ts": "soon", "city": "' + "é".encode() * 900
                         + b'"}',
    "string": b'"{\\"rider_id\\": \\"r9\\",  \\"ts\\":\\t\\"soon\\", \\"city\\": '
              b'\\"\\u4e0a\\u6d77\\"}"',
    "string-not-json": b'"{not json \xe4\xb8\x8a"',
    "number": b"42.50",
    "array": b"[ 1,2 ]",
    "null": b"null",
    "true": b"true",
    "empty-object": b"{ }",
}


def _line(value: bytes, key: bytes = b'"r9"', topic: bytes = GPS) -> bytes:
    return b'{"topic": "%s", "key": %s,  "value": %s }' % (topic, key, value)


def _kafka_value(value: bytes) -> bytes:
    """What a Kafka topic holds for the value spelled `value` in a replay line."""
    parsed = orjson.loads(value)
    return parsed.encode() if isinstance(parsed, str) else value


def replayed_dead_letter(line: bytes) -> tuple[str | None, DeadLetter]:
    """The dead letter replay writes for `line`, and the key it writes it under."""
    sink = io.BytesIO()
    replay(io.BytesIO(line + b"\n"), sink, SETTINGS, show_progress=False)
    [record] = [json.loads(x) for x in sink.getvalue().splitlines()]
    assert record["topic"] == TOPICS.dead_letters
    return record["key"], DeadLetter.model_validate(record["value"])


def worker_dead_letter(topic: str, key: bytes | None,
                       value: bytes) -> tuple[str | None, DeadLetter]:
    """The dead letter the worker's ingest stage writes for one Kafka record, and its key."""
    partition = IngestPartition(SETTINGS, topic, 0, client_kwargs={}, highwater=lambda: None)
    partition.on_record(0, key, value)
    [(out_topic, out_key, out_value, _)] = partition.outputs
    assert out_topic == TOPICS.dead_letters
    return (None if out_key is None else out_key.decode(),
            DeadLetter.model_validate_json(out_value))


@pytest.mark.parametrize("value", list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_a_bad_value_is_dead_lettered_with_its_exact_text_as_the_worker_does(
        value: bytes) -> None:
    key, dead = replayed_dead_letter(_line(value))
    text = _kafka_value(value).decode()
    if len(text.encode()) <= MAX_RAW_BYTES:
        assert dead.raw == text
    else:  # bounded as ever, at a character
        assert text.startswith(dead.raw) and len(dead.raw.encode()) > MAX_RAW_BYTES - 4
    assert (dead.source_topic, dead.key, key) == (TOPICS.gps, "r9", "r9")
    assert worker_dead_letter(TOPICS.gps, b"r9", _kafka_value(value)) == (key, dead)


def test_the_object_value_is_kept_byte_for_byte() -> None:
    _, dead = replayed_dead_letter(_line(ODD_OBJECT))
    assert dead.raw.encode() == ODD_OBJECT  # spacing, tab, key order and escapes untouched
    assert dead.error.startswith("invalid ts: ")


@pytest.mark.parametrize(("key", "kafka_key"), [
    (b'"r10"', b"r10"),  # does not match rider_id
    (b"null", None),  # no key
    (b"10", b"10"),  # not a string: as text, as a producer would send it
    (b'"' + b"k" * 30_000 + b'"', b"k" * 30_000),  # cut short in both, its dead letter's key too
], ids=["mismatch", "null", "number", "huge"])
def test_a_refused_key_gives_the_same_dead_letter_and_key_on_both_paths(
        key: bytes, kafka_key: bytes | None) -> None:
    value = b'{"rider_id":"r9", "ts":1784080800000, "lat":31.2, "lon":121.4}'
    replayed = replayed_dead_letter(_line(value, key=key))
    assert replayed[1].raw == value.decode()
    assert worker_dead_letter(TOPICS.gps, kafka_key, value) == replayed


def test_an_envelope_refused_for_its_topic_or_timestamp_holds_its_value() -> None:
    dead = parse_line(_line(ODD_OBJECT, topic=b"nowhere"), ROLES).value
    assert isinstance(dead, DeadLetter) and dead.raw.encode() == ODD_OBJECT
    assert dead.error == "unknown input topic 'nowhere'"
    line = _line(ODD_OBJECT)[:-1] + b', "timestamp": "noon"}'
    dead = parse_line(line, ROLES).value
    assert isinstance(dead, DeadLetter) and dead.raw.encode() == ODD_OBJECT
    assert dead.error.endswith("must be epoch milliseconds, got 'noon'")


@pytest.mark.parametrize("line", [
    b"{not json",
    b'[{"topic": "rider-gps", "value": {}}]',
    b'{"topic": "rider-gps", "key": "r9"}',
    '{"topic": "rider-gps", "value": {"city": "上海"}, "bad": 1e400}'.encode(),
], ids=["not-json", "not-an-object", "no-value", "not-json-beside-the-value"])
def test_a_line_that_is_not_a_record_is_dead_lettered_whole(line: bytes) -> None:
    dead = parse_line(line, ROLES).value
    assert isinstance(dead, DeadLetter)
    assert (dead.raw, dead.source_topic, dead.key) == (line.decode(), "", None)


def test_a_duplicated_value_is_its_last_as_json_parsers_have_it() -> None:
    line = b'{"topic":"rider-gps","key":"r9","value":{"a":1},"value": {"b" : 2}}'
    assert record_value(line, orjson.loads(line)["value"]) == b'{"b" : 2}'


def test_a_value_nested_too_deep_to_slice_out_is_dead_lettered_whole() -> None:
    deep = b"[" * 1020 + b"]" * 1020
    line = b'{"topic":"rider-gps","key":"r9","value":' + deep + b"}"
    assert record_value(line, orjson.loads(line)["value"]) is None
    dead = parse_line(line, ROLES).value
    assert isinstance(dead, DeadLetter)
    assert (dead.source_topic, dead.key, dead.error) == (
        TOPICS.gps, "r9", "value nested too deep: not parsed")
    assert dead.raw == line[:MAX_RAW_BYTES].decode()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES, indent=st.sampled_from([None, 0, 1, "\t"]),
       ascii_only=st.booleans(), spaced=st.booleans())
def test_record_value_is_the_value_as_spelled_in_the_line(value, indent, ascii_only,
                                                          spaced) -> None:
    separators = (" , ", " :  ") if spaced else (",", ":")
    spelled = json.dumps(value, indent=indent, ensure_ascii=ascii_only,
                         separators=separators).encode()
    line = b'{"topic": "t",\n"value" :' + spelled + b' , "key":"k"}'
    expected = value.encode() if isinstance(value, str) else spelled
    assert record_value(line, orjson.loads(line)["value"]) == expected
