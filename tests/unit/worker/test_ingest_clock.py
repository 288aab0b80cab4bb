"""The worker's ingest stage refuses a record dated well after its Kafka timestamp, with the
same dead letter as replay."""

import json

from streams.config.settings import load_settings
from streams.pipeline.clock import clock_ahead
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
