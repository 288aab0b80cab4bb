"""What the rider and profile partitions hand to the serving layer."""

import orjson

from streams.config.settings import load_settings
from streams.serving.pending import Placing
from streams.worker.profile_partition import ProfilePartition
from streams.worker.serving import ServingWriter
from tests.unit.worker.test_rider_partition_recovery import SETTINGS, _partition, _records, _run


def _ran():
    partition = _partition()
    records = _records()
    held = _run(partition, records, 0, len(records))
    return partition, held


def test_served_state_covers_evicted_riders_with_their_latest_score_and_city():
    partition, held = _ran()
    assert "speeder" in partition.core.evicted  # quiet long enough to leave memory
    last_delta = [out for out in held if out[0] == SETTINGS.topics.deltas
                  and orjson.loads(out[2])["rider_id"] == "speeder"][-1]
    served = {rider.rider_id: rider for rider in partition.served_state()}
    assert orjson.loads(served["speeder"].delta[2]) == orjson.loads(last_delta[2])
    assert served["speeder"].placing == Placing("shanghai", False)


def test_a_riders_placing_is_the_cores_role_model_standing_at_the_partitions_event_time():
    partition, _ = _ran()
    standing = partition.core.standing("speeder", partition.core.clock.area_time)
    needed = SETTINGS.detection.role_models.min_deliveries
    assert standing is not None and standing.deliveries < needed  # so not eligible
    assert partition.placing_of("speeder") == Placing("shanghai", False)
    assert partition.placing_of("never-seen") is None


def test_order_steps_are_noted_as_they_arrive_and_handed_over_once():
    partition, _ = _ran()
    steps = partition.live.drain().orders
    assert {rider for rider, *_ in steps} == {"courier"}
    assert steps[-1][1:] == ("o1", steps[-1][2], False)  # delivered: no longer under way
    assert partition.live.drain().orders == []


def _profile(rider: str, certified: bool = True) -> bytes:
    value = {"rider_id": rider, "first_aid_certified": certified}
    return orjson.dumps(value | ({"certified_until": 4_000_000_000_000} if certified else {}))


def test_a_profiles_offset_is_committed_only_past_what_redis_has():
    settings = load_settings(redis_url="redis://127.0.0.1:1/0")  # never reached here
    writer = ServingWriter(settings)
    partition = ProfilePartition(settings, 0, {}, writer)
    partition.on_record(0, b"medic", _profile("medic"))
    partition.on_record(1, b"nurse", _profile("nurse", certified=False))
    partition.on_record(2, b"liar", _profile("someone-else"))  # key does not match
    assert [orjson.loads(v)["key"] for _, _, v, _ in partition.outputs] == ["liar"]
    assert partition.commit_offset() == 0  # medic's certificate is not in Redis yet
    assert writer.certified == {"medic": 4_000_000_000_000}
    writer.pending.take()  # as a successful write does
    assert partition.commit_offset() == 3
