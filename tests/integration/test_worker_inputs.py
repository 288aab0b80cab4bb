"""What the worker reads of its inputs: committed records only, and a group that gains a worker
carries on from where it was, never from the start of its partitions."""

import json
import time

import pytest
from kafka import KafkaAdminClient, KafkaProducer

from tests.builders import ride
from tests.integration.fleet import BROKERS, Fleet
from tests.integration.scenario import canonical, city_lines, replayed

pytestmark = pytest.mark.integration


def _speeding_ride(rider: str) -> list[tuple[bytes, bytes]]:
    fixes = ride(rider, speed_kmh=[18.0] * 5 + [40.0] * 20 + [18.0] * 5, duration_s=120)
    return [(f.rider_id.encode(), f.model_dump_json().encode()) for f in fixes]


def test_an_aborted_input_transaction_changes_nothing(fleet: Fleet):
    producer = KafkaProducer(bootstrap_servers=BROKERS, transactional_id=f"abort-{time.time()}",
                             enable_idempotence=True, acks="all")
    producer.init_transactions()
    producer.begin_transaction()
    for key, value in _speeding_ride("aborted-speeder"):
        producer.send(fleet.settings.topics.gps, key=key, value=value)
    producer.flush()
    producer.abort_transaction()
    producer.close()
    lines = city_lines(copies=1)
    fleet.produce(lines)
    fleet.start_worker(0)
    expected = canonical(replayed(lines))
    records = fleet.collect(min_records=len(expected))
    assert not [r for r in records if "aborted-speeder" in json.dumps(r["value"])]
    assert canonical(records) == expected


def _committed(fleet: Fleet) -> dict[tuple[str, int], int]:
    topics = fleet.settings.topics
    inputs = {topics.gps, topics.orders, topics.weather, topics.reviews, topics.redemptions}
    admin = KafkaAdminClient(bootstrap_servers=BROKERS)
    try:
        group = fleet.env["KNIGHTWATCH_KAFKA__GROUP_ID"]
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
            if tp.topic in inputs}


def test_a_worker_joining_the_group_does_not_send_it_back_to_the_start(fleet: Fleet):
    lines = city_lines(copies=1)
    fleet.produce(lines)
    fleet.start_worker(0)
    expected = canonical(replayed(lines))
    first = fleet.collect(min_records=len(expected))
    before = _committed(fleet)
    assert before and all(offset > 0 for offset in before.values())
    fleet.start_worker(1)  # a rebalance moves half the partitions to a fresh owner
    time.sleep(15)
    after = fleet.collect(min_records=len(first), settle_s=10)
    moved_back = {tp: (before[tp], offset) for tp, offset in _committed(fleet).items()
                  if offset < before.get(tp, 0)}
    assert moved_back == {}, "committed input offsets went back"
    # Nothing was read again: no record twice, no dead letter for a record seen before.
    assert len(after) == len(first) and canonical(after) == expected
