"""A rider partition restarted from a checkpoint says exactly what an uninterrupted one says."""

import orjson
import pytest

from schemas import GpsPing
from streams.config.settings import load_settings
from streams.worker.codec import InputProgress, decode_rider_record, encode_rider_record
from streams.worker.rider_partition import RiderPartition
from tests.builders import T0, by_time, order, ride
from tests.unit.orders.helpers import delivery

SETTINGS = load_settings(kafka={"gps_partitions": 1, "partitions": 1, "area_partitions": 1})


def _records() -> list[bytes]:
    t = SETTINGS.topics
    events = by_time([*ride("speeder", speed_kmh=[18.0] * 10 + [40.0] * 30 + [18.0] * 200,
                            duration_s=960),
                      *delivery("o1", "courier", promised_s=1500, delivered_s=1800,
                                arrived_s=120, ready_s=720)])
    progress = [encode_rider_record(InputProgress(topic, 0, 0, True))
                for topic in (t.gps, t.orders, t.reviews, t.weather, t.redemptions)]
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
    first.on_captured()
    _run(first, records, crash_at, crash_at + 40)  # processed, never committed: lost in a crash

    second = _partition()
    second.restore(checkpoint)
    after = _run(second, records, resume_at, len(records))
    assert _outputs(before + after) == _outputs(expected)
    kinds = [orjson.loads(v).get("kind") for _, _, v, _ in expected]
    assert "speeding" in kinds



def _gps_held_back_records() -> list[bytes]:
    """The fleet's input as a partition reads it when the GPS input lags the order input: an
    order event from far ahead arrives first and stays buffered; a rider's fixes wait for the
    GPS input's progress; then the GPS input catches up and an hour-later rider's fixes move
    the stream clock on before the partition next advances its area clock."""
    t = SETTINGS.topics
    caught_up = [encode_rider_record(InputProgress(topic, 0, 0, True))
                 for topic in (t.orders, t.reviews, t.weather, t.redemptions)]
    gps_until = [encode_rider_record(InputProgress(t.gps, 0, T0 + s * 1000, False))
                 for s in (0, 5000)]
    ahead = order("o-ahead", "accepted", 2000, rider="ahead", promised_s=4000)
    early = ride("early", speed_kmh=[18.0] * 1000 + [40.0] * 60 + [18.0] * 140,
                 duration_s=1199, every_s=1)
    later = ride("later", start_s=3600, duration_s=60, every_s=1, seed=2)
    heartbeat = GpsPing(rider_id="__heartbeat__0", ts=4_102_444_800_000, lat=0, lon=0)
    return [*caught_up, gps_until[0], encode_rider_record(ahead),
            *[encode_rider_record(e) for e in early], gps_until[1],
            *[encode_rider_record(e) for e in [*later, heartbeat]]]


def test_a_restart_loses_no_buffered_event_to_the_clocks_it_restored():
    """The checkpoint's stream clock is an hour past the early rider's buffered tail. Re-read
    after a restart, the events before that tail are all older than the restored area clock,
    so they cannot pull the stream clock back; advancing by it while re-reading would make
    the tail late, and the speeding in it would never be scored."""
    records = _gps_held_back_records()
    crash_at = len(records) - 1  # before the heartbeat
    expected = _run(_partition(), records, 0, len(records))

    first = _partition()
    before = _run(first, records, 0, crash_at)
    checkpoint = dict(first.state_records())
    resume_at = first.commit_offset()
    assert resume_at is not None and crash_at - resume_at > 256, \
        "the re-read span must be long enough for the partition to move its clock in it"

    second = _partition()
    second.restore(checkpoint)
    after = _run(second, records, resume_at, len(records))
    assert _outputs(before + after) == _outputs(expected)
    assert any(orjson.loads(v).get("reason") == "speeding"
               for topic, _, v, _ in after if topic == SETTINGS.topics.deltas), \
        "the speeding in the early rider's buffered tail is scored after the restart"
