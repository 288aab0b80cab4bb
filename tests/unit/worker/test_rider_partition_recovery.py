"""A rider partition restarted from a checkpoint says exactly what an uninterrupted one says."""

import orjson
import pytest

from schemas import GpsPing
from streams.config.settings import load_settings
from streams.worker.codec import InputProgress, decode_rider_record, encode_rider_record
from streams.worker.rider_partition import RiderPartition
from tests.builders import by_time, ride
from tests.unit.orders.helpers import delivery

SETTINGS = load_settings(kafka={"gps_partitions": 1, "partitions": 1, "area_partitions": 1})


def _records() -> list[bytes]:
    t = SETTINGS.topics
    events = by_time([*ride("speeder", speed_kmh=[18.0] * 10 + [40.0] * 30 + [18.0] * 200,
                            duration_s=960),
                      *delivery("o1", "courier", promised_s=1500, delivered_s=1800,
                                arrived_s=120, ready_s=720)])
    progress = [encode_rider_record(InputProgress(topic, 0, 0, True))
                for topic in (t.gps, t.orders, t.reviews, t.weather)]
    # A heartbeat at the end moves event time past everything, so both runs finish the same.
    heartbeat = GpsPing(rider_id="__heartbeat__0", ts=4_102_444_800_000, lat=0, lon=0)
    return progress + [encode_rider_record(e) for e in [*events, heartbeat]]


def _partition() -> RiderPartition:
    return RiderPartition(SETTINGS, None, 0, client_kwargs={})


def _run(partition: RiderPartition, records: list[bytes], start: int, stop: int) -> list:
    for offset in range(start, stop):
        partition.on_record(offset, None, records[offset])
    held, partition.outputs = partition.outputs, []
    return held


def _outputs(held: list) -> tuple[list, list]:
    """Records, and congestion shares (sent with progress whose timing may differ)."""
    records, shares = [], []
    for topic, key, value, partition in held:
        if topic == SETTINGS.topics.area_progress:
            shares += [tuple(map(str, p)) for p in orjson.loads(value)["partials"]]
        else:
            records.append((topic, key, value, partition))
    return sorted(records), sorted(shares)


def test_codec_round_trip():
    for data in _records()[:10]:
        assert encode_rider_record(decode_rider_record(data)) == data


@pytest.mark.parametrize("crash_at", [150, 300, 420])
def test_restart_from_checkpoint_repeats_nothing_and_loses_nothing(crash_at):
    records = _records()
    whole = _partition()
    expected = _run(whole, records, 0, len(records))

    first = _partition()
    before = _run(first, records, 0, crash_at)
    checkpoint = dict(first.state_records())
    resume_at = first.commit_offset()
    first.on_committed()
    _run(first, records, crash_at, crash_at + 40)  # processed, never committed: lost in a crash

    second = _partition()
    second.restore(checkpoint)
    after = _run(second, records, resume_at, len(records))
    assert _outputs(before + after) == _outputs(expected)
    kinds = [orjson.loads(v).get("kind") for _, _, v, _ in expected]
    assert "speeding" in kinds
