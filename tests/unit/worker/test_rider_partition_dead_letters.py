"""A record refused after it was read (late, or an order event out of its lifecycle) gives the
same dead letter through `knightwatch replay` as through the worker, which reads it from its
input topic and refuses it in a rider partition (GPS read there directly, order events through
the ingest stage): the input topic it came from, its id as key, its canonical JSON as raw."""

import io
import json

import orjson

from schemas import DeadLetter, GpsPing
from streams.config.settings import load_settings
from streams.replay.envelope import record_value
from streams.replay.runner import replay
from streams.worker.codec import InputProgress, encode_rider_record
from streams.worker.ingest_partition import IngestPartition
from streams.worker.rider_partition import RiderPartition
from tests.builders import order, ping, ride

# Topic names of a deployment, not the defaults: a dead letter names the topic actually read.
SETTINGS = load_settings(kafka={"gps_partitions": 1, "partitions": 1, "area_partitions": 1},
                         topics={"gps": "prod.rider-gps", "orders": "prod.order-events"})
TOPICS = SETTINGS.topics
HEARTBEAT = GpsPing(rider_id="__heartbeat__0", ts=4_102_444_800_000, lat=0, lon=0)


def _line(event) -> bytes:
    topic = TOPICS.gps if isinstance(event, GpsPing) else TOPICS.orders
    key = event.rider_id if isinstance(event, GpsPing) else event.order_id
    # Spaced and keyed out of order, as a producer may: the raw of a late record is still its
    # canonical JSON, the one form a rider partition can give.
    value = dict(reversed(json.loads(event.model_dump_json()).items()))
    spelled = json.dumps(value, separators=(" , ", " :  ")).encode()
    return b'{"topic": %s, "key": %s, "value": %s}' % (orjson.dumps(topic), orjson.dumps(key),
                                                        spelled)


def _lines() -> list[bytes]:
    pings = ride("r1", duration_s=600, speed_kmh=18)
    # An order step of an order r1 never accepted: refused by its lifecycle, in event time.
    ghost = order("ghost", "picked_up", 30, rider="r1")
    # Long after r1's first fixes were processed: late, both a fix and an order event.
    late_fix = ping("r1", t_s=2, speed=18, heading=90)
    late_order = order("o-late", "accepted", 3, rider="r1", promised_s=1800)
    events = [*pings[:5], ghost, *pings[5:], late_fix, late_order]
    return [_line(e) for e in events]


def replayed(lines: list[bytes]) -> list[tuple]:
    sink = io.BytesIO()
    replay(io.BytesIO(b"\n".join(lines) + b"\n"), sink, SETTINGS, show_progress=False)
    records = [json.loads(x) for x in sink.getvalue().splitlines()]
    return _sorted([(r["key"], DeadLetter.model_validate(r["value"])) for r in records
                    if r["topic"] == TOPICS.dead_letters])


def through_the_worker(lines: list[bytes]) -> list[tuple]:
    """Each line as its Kafka record, in order: a GPS fix read by the rider partition itself,
    an order event through the ingest stage of its topic, then the rider partition; a gateway
    heartbeat at the end moves event time past everything."""
    orders = IngestPartition(SETTINGS, TOPICS.orders, 0, client_kwargs={},
                             highwater=lambda: None)
    rider = RiderPartition(SETTINGS, None, 0, client_kwargs={})
    events = 0
    for topic in (TOPICS.gps, TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions):
        rider.on_record(events, None, encode_rider_record(InputProgress(topic, 0, 0, True)))
        events += 1
    heartbeat = orjson.dumps({"topic": TOPICS.gps, "key": HEARTBEAT.rider_id,
                              "value": json.loads(HEARTBEAT.model_dump_json())})
    for offset, line in enumerate([*lines, heartbeat]):
        envelope = orjson.loads(line)
        key, value = envelope["key"].encode(), record_value(line, envelope["value"])
        if envelope["topic"] == TOPICS.gps:
            rider.on_gps(offset, key, value, timestamp_ms=None)
            continue
        orders.on_record(offset, key, value)
        assert all(topic == TOPICS.rider_events for topic, *_ in orders.outputs)
        for _, _, forwarded, _ in orders.outputs:
            rider.on_record(events, None, forwarded)
            events += 1
        orders.outputs = []
    return _sorted([(None if key is None else key.decode(), DeadLetter.model_validate_json(value))
                    for topic, key, value, _ in rider.outputs if topic == TOPICS.dead_letters])


def _sorted(letters: list[tuple[str | None, DeadLetter]]) -> list[tuple[str | None, DeadLetter]]:
    return sorted(letters, key=lambda kd: (kd[0] or "", kd[1].model_dump_json()))


def test_late_and_lifecycle_dead_letters_are_the_same_through_replay_and_the_worker() -> None:
    lines = _lines()
    expected = replayed(lines)
    assert through_the_worker(lines) == expected
    by_key = {key: dead for key, dead in expected}
    assert set(by_key) == {"ghost", "o-late", "r1"}
    assert by_key["ghost"].error.startswith("order lifecycle: ")
    assert by_key["o-late"].error.startswith("late: ") and by_key["r1"].error.startswith("late: ")
    # The input topic each came from, as configured; the key its id.
    assert by_key["ghost"].source_topic == by_key["o-late"].source_topic == TOPICS.orders
    assert by_key["r1"].source_topic == TOPICS.gps
    assert all(dead.key == key for key, dead in expected)
    # Its raw is its canonical JSON, not the spacing or order the producer chose.
    assert by_key["ghost"].raw == order("ghost", "picked_up", 30, rider="r1").model_dump_json()
    assert by_key["r1"].raw == ping("r1", t_s=2, speed=18, heading=90).model_dump_json()
    assert all(dead.raw not in line.decode() for line in lines for dead in by_key.values())
