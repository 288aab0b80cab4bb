"""Plausibility, not only types: each implausible record becomes one dead letter that says why,
on the replay path and the Kafka worker path alike, and the valid records around it are processed
as if it had never been there."""

import io
import json
from typing import Any

import orjson
import pytest

from schemas import DeadLetter, GpsPing
from schemas.inputs import CITY_MAX_LEN, REVIEWER_MAX_LEN
from schemas.timestamps import MAX_TS_MS
from streams.config.settings import load_settings
from streams.primitives.decode import MAX_RAW_BYTES, MAX_RECORD_BYTES, decode_value
from streams.replay.envelope import parse_line
from streams.replay.runner import ReplaySummary, replay
from streams.worker.ingest_partition import IngestPartition
from tests.builders import T0, ride

SETTINGS = load_settings()
TOPICS = SETTINGS.topics
ROLES = TOPICS.input_roles()
# A rider speeding in the middle of a ride: an alert and a score delta to lose, were the valid
# records around a bad one not processed.
GOOD = [orjson.dumps({"topic": TOPICS.gps, "key": p.rider_id,
                      "value": json.loads(p.model_dump_json())}) + b"\n"
        for p in ride(speed_kmh=[18.0] * 5 + [40.0] * 20 + [18.0] * 5, duration_s=120)]
PING = {"rider_id": "r9", "ts": T0 + 30_000, "lat": 31.23, "lon": 121.47, "speed_kmh": 18.0,
        "heading_deg": 90.0, "accuracy_m": 5.0, "city": "shanghai"}
ORDER = {"order_id": "o9", "rider_id": "r9", "ts": T0 + 30_000, "type": "accepted",
         "promised_ts": T0 + 1_800_000}
WEATHER = {"city": "shanghai", "ts": T0 + 30_000, "condition": "rain"}
REVIEW = {"alert_id": "a9", "rider_id": "r9", "ts": T0 + 30_000, "verdict": "upheld"}
BASES = {TOPICS.gps: PING, TOPICS.orders: ORDER, TOPICS.weather: WEATHER, TOPICS.reviews: REVIEW}
KEYS = {TOPICS.gps: "rider_id", TOPICS.orders: "order_id", TOPICS.weather: "city",
        TOPICS.reviews: "rider_id"}


def line_of(topic: str, value: dict[str, Any], **envelope: Any) -> bytes:
    """A replay line; its key is the value's id unless `key` is given (None: a null key)."""
    record = {"topic": topic, "key": value[KEYS[topic]], "value": value} | envelope
    return orjson.dumps(record) + b"\n"


def run(lines: list[bytes]) -> tuple[list[dict], ReplaySummary]:
    sink = io.BytesIO()
    summary = replay(io.BytesIO(b"".join(lines)), sink, SETTINGS, show_progress=False)
    return [json.loads(x) for x in sink.getvalue().splitlines()], summary


BASELINE, _ = run(GOOD)


def replay_around(bad: bytes) -> DeadLetter:
    """The bad line between valid ones: its one dead letter; everything else as without it."""
    out, summary = run([*GOOD[:10], bad, *GOOD[10:]])
    dead = [r for r in out if r["topic"] == TOPICS.dead_letters]
    assert len(dead) == 1, dead
    assert [r for r in out if r["topic"] != TOPICS.dead_letters] == BASELINE
    assert (summary.records, summary.rejected) == (len(GOOD) + 1, 1)
    return DeadLetter.model_validate(dead[0]["value"])


def worker(topic: str, key: bytes | None, value: bytes) -> list[tuple]:
    """What the Kafka worker's ingest partition outputs for one record."""
    partition = IngestPartition(SETTINGS, topic, 0, client_kwargs={}, highwater=lambda: None)
    partition.on_record(0, key, value)
    return partition.outputs


def worker_dead_letter(topic: str, key: bytes | None, value: bytes) -> DeadLetter:
    outputs = worker(topic, key, value)
    assert [o[0] for o in outputs] == [TOPICS.dead_letters], outputs
    return DeadLetter.model_validate_json(outputs[0][2])


def test_the_valid_records_alone_raise_an_alert_and_a_delta() -> None:
    topics = {r["topic"] for r in BASELINE}
    assert TOPICS.alerts in topics and TOPICS.deltas in topics


# (topic, value, the dead letter's error after "invalid "): the same on both paths.
IMPLAUSIBLE = [
    # Numbers are finite JSON numbers: no NaN or infinity, not as strings either...
    (TOPICS.gps, PING | {"speed_kmh": "inf"},
     "speed_kmh: Input should be a valid number, got 'inf'"),
    (TOPICS.gps, PING | {"accuracy_m": "inf"},
     "accuracy_m: Input should be a valid number, got 'inf'"),
    (TOPICS.gps, PING | {"accuracy_m": "-Infinity"},
     "accuracy_m: Input should be a valid number, got '-Infinity'"),
    # ... within bounds that say what is plausible ...
    (TOPICS.gps, PING | {"speed_kmh": 1e9},
     "speed_kmh: Input should be less than or equal to 200, got 1000000000.0"),
    (TOPICS.gps, PING | {"speed_kmh": 200.5},
     "speed_kmh: Input should be less than or equal to 200, got 200.5"),
    (TOPICS.gps, PING | {"accuracy_m": 25_000},
     "accuracy_m: Input should be less than or equal to 10000, got 25000"),
    (TOPICS.gps, PING | {"heading_deg": 360},
     "heading_deg: Input should be less than 360, got 360"),
    # ... never a bool, never a number in a string.
    (TOPICS.gps, PING | {"lat": True}, "lat: Input should be a valid number, got true"),
    (TOPICS.gps, PING | {"heading_deg": "90"},
     "heading_deg: Input should be a valid number, got '90'"),
    (TOPICS.orders, ORDER | {"lon": False}, "lon: Input should be a valid number, got false"),
    # Event time: a JSON number (or RFC 3339) from 2000 to 2100, whole milliseconds.
    (TOPICS.gps, PING | {"ts": True},
     "ts: must be epoch milliseconds or an RFC 3339 string, not a boolean"),
    (TOPICS.gps, PING | {"ts": str(T0)},
     "ts: epoch milliseconds must be a JSON number, not a string"),
    (TOPICS.gps, PING | {"ts": T0 + 0.5}, "ts: must be whole epoch milliseconds"),
    (TOPICS.gps, PING | {"ts": T0 // 1000},
     "ts: Input should be greater than or equal to 946684800000, got 1784080800"),
    (TOPICS.gps, PING | {"ts": T0 * 1000},
     f"ts: Input should be less than or equal to {MAX_TS_MS}, got {T0 * 1000}"),
    (TOPICS.orders, ORDER | {"promised_ts": MAX_TS_MS + 1},
     f"promised_ts: Input should be less than or equal to {MAX_TS_MS}, got {MAX_TS_MS + 1}"),
    (TOPICS.gps, PING | {"ts": "2026-07-15 10:00"},
     "ts: not an RFC 3339 timestamp: '2026-07-15 10:00'"),
    # Strings have a bounded length.
    (TOPICS.gps, PING | {"city": "c" * (CITY_MAX_LEN + 1)},
     "city: String should have at most 64 characters, got a string of 65 characters"),
    (TOPICS.gps, PING | {"rider_id": "r" * 129},
     "rider_id: String should have at most 128 characters, got a string of 129 characters"),
    (TOPICS.reviews, REVIEW | {"reviewer": "x" * (REVIEWER_MAX_LEN + 1)},
     "reviewer: String should have at most 254 characters, got a string of 255 characters"),
    (TOPICS.weather, WEATHER | {"city": "c" * (CITY_MAX_LEN + 1)},
     "city: String should have at most 64 characters, got a string of 65 characters"),
    # Weather within the world's records, a warning for at most a week.
    (TOPICS.weather, WEATHER | {"precip_mm_h": 2_000},
     "precip_mm_h: Input should be less than or equal to 500, got 2000"),
    (TOPICS.weather, WEATHER | {"wind_mps": "12"},
     "wind_mps: Input should be a valid number, got '12'"),
    (TOPICS.weather, WEATHER | {"valid_until": T0 + 30 * 86_400_000},
     "value: valid_until must be at most 7 days after ts"),
]


def _case_id(case: tuple) -> str:
    topic, value, _ = case
    changed = sorted(k for k in value if value[k] != BASES[topic].get(k, object()))
    return f"{topic}:{','.join(changed)}"


@pytest.mark.parametrize(("topic", "value", "error"), IMPLAUSIBLE,
                         ids=[_case_id(c) for c in IMPLAUSIBLE])
def test_an_implausible_record_is_one_dead_letter_and_the_rest_goes_on(
        topic: str, value: dict, error: str) -> None:
    line = line_of(topic, value)
    dead = replay_around(line)
    assert dead.error == "invalid " + error
    # Its raw is the record's value, as a Kafka topic would hold it, not the envelope.
    assert (dead.source_topic, dead.raw) == (topic, orjson.dumps(value).decode()[:MAX_RAW_BYTES])
    # The worker, which validates the raw value against the Kafka key, writes the same.
    key = str(value[KEYS[topic]]).encode()
    assert worker_dead_letter(topic, key, orjson.dumps(value)) == dead


@pytest.mark.parametrize(("topic", "value"), [
    (TOPICS.gps, PING | {"speed_kmh": 200, "accuracy_m": 10_000, "heading_deg": 359.9,
                         "city": "c" * CITY_MAX_LEN}),
    (TOPICS.gps, PING | {"lat": 31, "lon": 121, "speed_kmh": 0, "ts": "2026-07-15T10:00:30+08:00"}),
    (TOPICS.gps, PING | {"ts": float(T0)}),
    (TOPICS.orders, ORDER),
    (TOPICS.weather, WEATHER | {"wind_mps": 12, "precip_mm_h": 500, "temperature_c": -5,
                                "valid_until": T0 + 30_000 + 7 * 86_400_000}),
    (TOPICS.reviews, REVIEW | {"reviewer": "x" * REVIEWER_MAX_LEN}),
], ids=["gps-at-bounds", "gps-ints-and-rfc3339", "gps-whole-float-ts", "order", "weather",
        "review"])
def test_plausible_records_at_the_bounds_are_taken_on_both_paths(topic: str, value: dict) -> None:
    parsed = parse_line(line_of(topic, value), ROLES).value
    assert not isinstance(parsed, DeadLetter), parsed
    outputs = worker(topic, str(value[KEYS[topic]]).encode(), orjson.dumps(value))
    assert outputs and all(o[0] == TOPICS.rider_events for o in outputs), outputs


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_nan_and_infinity_literals_are_refused_on_both_paths(literal: bytes) -> None:
    # Not JSON, strictly: orjson refuses them; pydantic's parser (the worker's) reads them and
    # the model refuses them as not finite.
    value = orjson.dumps(PING)[:-1] + b',"accuracy_m":' + literal + b"}"
    line = b'{"topic":"%s","key":"r9","value":%s}\n' % (TOPICS.gps.encode(), value)
    assert replay_around(line).error.startswith("not JSON: ")
    error = worker_dead_letter(TOPICS.gps, b"r9", value).error
    assert error.startswith("invalid accuracy_m: Input should be a finite number, got "), error


# --- Keys: every input topic is keyed by its id. ---


@pytest.mark.parametrize("topic", list(BASES))
@pytest.mark.parametrize("null", [False, True], ids=["no-key", "null-key"])
def test_a_record_without_a_key_is_a_dead_letter_that_says_so(topic: str, null: bool) -> None:
    value = BASES[topic]
    record: dict[str, Any] = {"topic": topic, "value": value} | ({"key": None} if null else {})
    dead = replay_around(orjson.dumps(record) + b"\n")
    assert dead.error == f"no key: {topic} records are keyed by {KEYS[topic]}"
    assert dead.key is None and dead.source_topic == topic
    # The worker: a Kafka record with no key.
    assert worker_dead_letter(topic, None, orjson.dumps(value)).error == dead.error


def test_a_key_that_does_not_match_is_still_a_dead_letter() -> None:
    dead = replay_around(line_of(TOPICS.gps, PING, key="r10"))
    assert dead.error == "key 'r10' does not match rider_id 'r9'"
    assert worker_dead_letter(TOPICS.gps, b"r10", orjson.dumps(PING)).error == dead.error


# --- Size: a record over the limit is not parsed; no dead letter copies a record whole. ---


def test_a_huge_record_is_dead_lettered_unread_with_its_length_and_a_bounded_raw() -> None:
    line = line_of(TOPICS.gps, PING | {"city": "c" * (50 << 20)})  # 50 MB
    size = len(line) - 1
    dead = replay_around(line)
    assert dead.error == (f"record too large: {size} bytes, over the {MAX_RECORD_BYTES}-byte"
                          " limit; not parsed")
    assert dead.raw == line[:MAX_RAW_BYTES].decode()
    assert dead.source_topic == "" and dead.key is None  # unread: neither is known
    value = orjson.dumps(PING | {"city": "c" * (50 << 20)})
    dead = worker_dead_letter(TOPICS.gps, b"r9", value)
    assert dead.error.startswith(f"record too large: {len(value)} bytes")
    assert dead.raw == value[:MAX_RAW_BYTES].decode() and dead.key == "r9"


def test_a_record_at_the_limit_is_parsed_and_one_byte_over_is_not() -> None:
    line = line_of(TOPICS.gps, PING).rstrip(b"\n")
    at_limit = line[:-1] + b" " * (MAX_RECORD_BYTES - len(line)) + b"}"
    assert len(at_limit) == MAX_RECORD_BYTES
    assert not isinstance(parse_line(at_limit + b"\r\n", ROLES).value, DeadLetter)
    _, summary = run([*GOOD, at_limit + b"\n"])
    assert summary.rejected == 0
    over = at_limit[:-1] + b" }"
    assert replay_around(over + b"\n").error.startswith(
        f"record too large: {MAX_RECORD_BYTES + 1} bytes")
    value = orjson.dumps(PING)
    padded = value[:-1] + b" " * (MAX_RECORD_BYTES - len(value)) + b"}"
    assert worker(TOPICS.gps, b"r9", padded)[0][0] == TOPICS.rider_events
    assert worker_dead_letter(TOPICS.gps, b"r9", padded + b" ").error.startswith(
        f"record too large: {MAX_RECORD_BYTES + 1} bytes")


def test_every_dead_letter_keeps_only_the_first_kib_of_its_record() -> None:
    # Under the size limit, so parsed and refused for its city; its raw is still cut, at a
    # character boundary, never inside one.
    value = PING | {"city": "é" * 20_000}
    line = line_of(TOPICS.gps, value)
    dead = replay_around(line)
    assert dead.error.startswith("invalid city: String should have at most 64 characters")
    assert orjson.dumps(value).decode().startswith(dead.raw)
    assert MAX_RAW_BYTES - 1 <= len(dead.raw.encode()) <= MAX_RAW_BYTES
    assert worker_dead_letter(TOPICS.gps, b"r9", orjson.dumps(value)) == dead


def test_a_huge_key_or_topic_is_cut_in_the_dead_letter_and_its_error() -> None:
    dead = replay_around(line_of(TOPICS.gps, PING, key="k" * 30_000))
    assert dead.error == "key " + repr("k" * 40) + "... does not match rider_id 'r9'"
    assert len(dead.key or "") < 300
    dead = replay_around(orjson.dumps({"topic": "t" * 30_000, "key": "r9", "value": PING})
                         + b"\n")
    assert dead.error == "unknown input topic " + repr("t" * 40) + "..."
    assert len(dead.source_topic) < 300


def test_decode_value_takes_text_bytes_or_a_parsed_value_alike() -> None:
    raw = orjson.dumps(PING | {"speed_kmh": "inf"})
    errors = set()
    for value in (raw, raw.decode(), orjson.loads(raw)):
        dead = decode_value("gps", TOPICS.gps, "r9", value, raw.decode())
        assert isinstance(dead, DeadLetter)
        errors.add(dead.error)
    assert errors == {"invalid speed_kmh: Input should be a valid number, got 'inf'"}
    assert isinstance(decode_value("gps", TOPICS.gps, "r9", orjson.dumps(PING), ""), GpsPing)
