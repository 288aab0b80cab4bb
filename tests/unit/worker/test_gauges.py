"""The worker's gauges: each consumed partition's lag while this worker holds it, and the riders
its rider partitions hold in memory."""

from faust.types import TP
from prometheus_client import REGISTRY

from streams.config.settings import load_settings
from streams.worker.gauges import WorkerGauges
from streams.worker.rider_partition import RiderPartition
from tests.builders import ping

SETTINGS = load_settings()
GPS = "gauges-test-gps"


def lag(partition: int) -> float | None:
    return REGISTRY.get_sample_value("knightwatch_consumer_lag_records",
                                     {"topic": GPS, "partition": str(partition)})


def test_lag_is_the_high_watermark_minus_the_next_offset_to_hand_on():
    gauges = WorkerGauges()
    ends, positions = {TP(GPS, 0): 120, TP(GPS, 1): 50}, {TP(GPS, 0): 100, TP(GPS, 1): 50}
    gauges.observe(ends, ends.get, positions.get, [])
    assert (lag(0), lag(1)) == (20, 0)


def test_a_partition_not_fetched_yet_or_given_up_has_no_lag_here():
    gauges = WorkerGauges()
    ends, positions = {TP(GPS, 0): 120, TP(GPS, 1): 50}, {TP(GPS, 0): 100, TP(GPS, 1): 50}
    gauges.observe(ends, ends.get, positions.get, [])
    gauges.observe({TP(GPS, 0): 0}, lambda tp: None, positions.get, [])
    assert (lag(0), lag(1)) == (None, None), "not fetched yet; revoked: another worker's to say"


def test_riders_in_memory_are_summed_over_the_rider_partitions():
    partitions = [RiderPartition(SETTINGS, None, p, client_kwargs={}) for p in (0, 1)]
    for offset, rider in enumerate(("a", "b", "c")):
        partitions[offset % 2].on_gps(offset, rider.encode(),
                                      ping(rider).model_dump_json().encode(), None)
    partitions[1].core.evicted["gone"] = b"snapshot"
    WorkerGauges().observe([], lambda tp: None, lambda tp: None, partitions)
    assert REGISTRY.get_sample_value("knightwatch_riders_in_memory") == 3
    assert REGISTRY.get_sample_value("knightwatch_riders_evicted") == 1
