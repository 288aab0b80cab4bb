"""The worker's ingest stage refuses a record dated well after its Kafka timestamp, with the
same dead letter as replay."""

import io
import json

from schemas import DeadLetter
from streams.config.settings import load_settings
from streams.pipeline.clock import clock_ahead
from streams.replay.runner import replay
from streams.worker.ingest_partition import IngestPartition
from tests.builders import ping

SETTINGS = load_settings()


def _partition() -> IngestPartition:
    return IngestPartition(SETTINGS, SETTINGS.topics.gps, 0, client_kwargs={},
                           highwater=lambda: None)


def test_the_worker_refuses_a_record_dated_well_after_its_kafka_timestamp_the_same_way():
    ahead = ping("r2", 30, speed=18)
    arrival = ahead.ts - int(SETTINGS.detection.timing.max_clock_ahead_s * 1000) - 60_000
    partition = _partition()
    partition.on_record(0, b"r2", ahead.model_dump_json().encode(), timestamp_ms=arrival)
    [(topic, _, value, _)] = partition.outputs
    assert topic == SETTINGS.topics.dead_letters
    assert json.loads(value)["error"] == clock_ahead(
        ahead.ts, arrival, int(SETTINGS.detection.timing.max_clock_ahead_s * 1000))
    on_time = _partition()
    on_time.on_record(0, b"r2", ahead.model_dump_json().encode(), timestamp_ms=ahead.ts)
    assert [o[0] for o in on_time.outputs] == [SETTINGS.topics.rider_events]


def test_a_record_dated_ahead_is_the_same_dead_letter_through_replay_and_the_worker():
    ahead = ping("r2", 30, speed=18)
    arrival = ahead.ts - int(SETTINGS.detection.timing.max_clock_ahead_s * 1000) - 60_000
    # Spelled as a producer may, not canonically: the raw of a record refused once read is its
    # canonical JSON on both paths, which replay's core (holding only the record) can give.
    value = json.dumps(dict(reversed(json.loads(ahead.model_dump_json()).items())),
                       separators=(", ", ": ")).encode()
    line = b'{"topic": %s, "key": "r2", "value": %s, "timestamp": %d}\n' % (
        json.dumps(SETTINGS.topics.gps).encode(), value, arrival)
    sink = io.BytesIO()
    replay(io.BytesIO(line), sink, SETTINGS, show_progress=False)
    [replayed] = [json.loads(x) for x in sink.getvalue().splitlines()]
    partition = _partition()
    partition.on_record(0, b"r2", value, timestamp_ms=arrival)
    [(topic, key, letter, _)] = partition.outputs
    assert (topic, key.decode()) == (replayed["topic"], replayed["key"]) == (
        SETTINGS.topics.dead_letters, "r2")
    dead = DeadLetter.model_validate_json(letter)
    assert dead == DeadLetter.model_validate(replayed["value"])
    assert (dead.source_topic, dead.raw) == (SETTINGS.topics.gps, ahead.model_dump_json())
    assert dead.error.startswith("clock ahead: ")
