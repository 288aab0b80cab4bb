"""Riders a rider partition evicts wait in a SQLite database on disk, not in the heap."""

import pytest

from streams.pipeline.processor import KnightwatchCore
from streams.worker.evicted_store import EvictedRiders
from tests.builders import deltas, ride
from tests.unit.pipeline.test_eviction import QUICK, _feed, _speeding
from tests.unit.worker.test_rider_partition_serving import _ran


def test_the_store_keeps_snapshots_by_rider_as_a_mapping_does():
    store = EvictedRiders()
    store["r1"] = b"one"
    store["r2"] = b"two"
    store["r1"] = b"one again"  # a rider evicted twice: the newer snapshot, counted once
    assert len(store) == 2 and sorted(store) == ["r1", "r2"] and "r2" in store
    assert store["r1"] == b"one again"
    assert store.pop("r1") == b"one again" and "r1" not in store and len(store) == 1
    assert store.pop("r1", None) is None
    with pytest.raises(KeyError):
        store.pop("r1")
    with pytest.raises(KeyError):
        del store["nobody"]
    store.clear()
    assert len(store) == 0 and list(store) == []
    store.close()


def test_a_core_keeping_evicted_riders_on_disk_gives_what_one_keeping_them_in_memory_gives():
    outputs = []
    for evicted in ({}, EvictedRiders()):
        core = KnightwatchCore(QUICK, evicted=evicted)
        out = _feed(core, _speeding("r1", 0))
        out += _feed(core, ride("other", start_s=100, duration_s=3600, every_s=20))
        assert "r1" not in core.riders and "r1" in core.evicted  # left memory for the store
        out += _feed(core, _speeding("r1", 3800)) + core.close()
        outputs.append(deltas(out))
    in_memory, on_disk = outputs
    assert on_disk == in_memory and len(on_disk) == 2  # the score carried over the eviction


def test_a_rider_partition_keeps_its_evicted_riders_in_the_disk_store():
    partition, _ = _ran()
    assert isinstance(partition.core.evicted, EvictedRiders)
    assert "speeder" in partition.core.evicted and "speeder" not in partition.core.riders
