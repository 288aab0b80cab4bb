"""A rider partition reads rider-gps itself and everything else from rider-events: a restart
from a checkpoint re-reads both from their own committed offsets and says exactly what an
uninterrupted partition says; a checkpoint of the version that read one topic still restores."""

import orjson
import pytest

from schemas import GpsPing
from streams.config.settings import load_settings
from streams.primitives.snapshot import dumps, loads
from streams.worker.codec import InputProgress, encode_rider_record
from streams.worker.rider_partition import RiderPartition
from tests.builders import by_time, ride
from tests.unit.orders.helpers import delivery

SETTINGS = load_settings(kafka={"gps_partitions": 1, "partitions": 1, "area_partitions": 1})
TOPICS = SETTINGS.topics
HEARTBEAT = GpsPing(rider_id="__heartbeat__0", ts=4_102_444_800_000, lat=0, lon=0)

# role ("gps" or "events"), offset in its topic, key, value
Record = tuple[str, int, bytes | None, bytes]


def _records() -> list[Record]:
    """Both topics as a partition may read them: interleaved by event time, each topic's
    offsets counting from 0, the inputs behind rider-events caught up from the start."""
    events = by_time([*ride("speeder", speed_kmh=[18.0] * 10 + [40.0] * 30 + [18.0] * 200,
                            duration_s=960),
                      *delivery("o1", "courier", promised_s=1500, delivered_s=1800,
                                arrived_s=120, ready_s=720), HEARTBEAT])
    offsets = {"gps": 0, "events": 0}
    records: list[Record] = []

    def add(role: str, value: bytes, key: bytes | None = None) -> None:
        records.append((role, offsets[role], key, value))
        offsets[role] += 1

    for topic in (TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions):
        add("events", encode_rider_record(InputProgress(topic, 0, 0, True)))
    for event in events:
        if isinstance(event, GpsPing):
            add("gps", event.model_dump_json().encode(), event.rider_id.encode())
        else:
            add("events", encode_rider_record(event))
    return records


def _partition() -> RiderPartition:
    return RiderPartition(SETTINGS, None, 0, client_kwargs={})


def _feed(partition: RiderPartition, records: list[Record]) -> list:
    for role, offset, key, value in records:
        if role == "gps":
            partition.on_gps(offset, key, value, timestamp_ms=None)
            # As the worker does after each batch: how far rider-gps is read.
            partition.on_gps_progress(offset + 1, wall_ms=0)
        else:
            partition.on_record(offset, key, value)
    held, partition.outputs = partition.outputs, []
    return held


def _outputs(held: list) -> list:
    return sorted((topic, key, value) for topic, key, value, _ in held
                  if topic != TOPICS.area_progress)


@pytest.mark.parametrize("crash_at", [200, 330])
def test_a_restart_reads_both_topics_again_from_their_own_offsets_and_loses_nothing(crash_at):
    records = _records()
    expected = _outputs(_feed(_partition(), records))
    assert any(orjson.loads(v).get("kind") == "speeding" for _, _, v in expected)

    first = _partition()
    before = _feed(first, records[:crash_at])
    offsets = first.commit_offsets()
    checkpoint = dict(first.state_records())
    first.on_captured()
    _feed(first, records[crash_at:crash_at + 40])  # processed, never committed: lost

    second = _partition()
    second.restore(checkpoint)
    resume = {"gps": offsets[(TOPICS.gps, 0)], "events": offsets[(TOPICS.rider_events, 0)]}
    read = {role: max(o for r, o, _, _ in records[:crash_at] if r == role) for role in resume}
    assert second.rereading == {role: read[role] for role in resume if resume[role] <= read[role]}
    assert "gps" in second.rereading, "the checkpoint left fixes buffered: they are read again"
    # After the restart the consumer may fetch either topic first: here rider-gps's whole
    # re-read comes first, then the rest in the order it was written.
    again = [r for r in records if r[1] >= resume[r[0]]]
    again.sort(key=lambda r: not (r[0] == "gps" and r[1] <= read["gps"]))
    after = _feed(second, again)
    assert not second.rereading
    assert _outputs(before + after) == expected


def test_a_checkpoint_of_the_single_topic_version_restores_and_re_reads_rider_events():
    partition = _partition()
    _feed(partition, _records()[:120])
    checkpoint = dict(partition.state_records())
    meta = loads(checkpoint[b"meta"])
    last_events = meta["last_offsets"]["events"]
    v1 = {k: v for k, v in meta.items() if k not in ("last_offsets", "commits")}
    checkpoint[b"meta"] = dumps(v1 | {"v": 1, "last_offset": last_events})

    restored = _partition()
    restored.restore(checkpoint)
    assert restored.rereading == {"events": last_events}
    assert restored.core.holding
