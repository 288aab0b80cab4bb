"""A new owner of an input partition reads it again from the group's committed offset and
forwards again what its predecessor had forwarded: a rider partition recognises each such
record by the input position it came from and drops it, however late it comes, also after a
restart of its own."""

from schemas import DeadLetter
from streams.config.settings import load_settings
from streams.worker.codec import InputProgress, encode_rider_record
from streams.worker.rider_partition import RiderPartition
from tests.builders import order, ride

SETTINGS = load_settings(kafka={"gps_partitions": 1, "partitions": 1, "area_partitions": 1})
TOPICS = SETTINGS.topics


class Partition:
    def __init__(self) -> None:
        self.partition = RiderPartition(SETTINGS, None, 0, client_kwargs={})
        self.events = self.fixes = 0
        # Every input behind the ingest stage caught up: event time goes with the fixes.
        for topic in TOPICS.input_roles():
            if topic != TOPICS.gps:
                self.forward(InputProgress(topic, 0, 0, True, 1_000))

    def forward(self, record, source: tuple[int, int] | None = None) -> None:
        self.partition.on_record(self.events, None, encode_rider_record(record, source))
        self.events += 1

    def ride(self, fixes: list) -> None:
        for fix in fixes:
            self.partition.on_gps(self.fixes, fix.rider_id.encode(),
                                  fix.model_dump_json().encode(), None)
            self.partition.on_gps_progress(self.fixes + 1, wall_ms=1_000)
            self.fixes += 1

    def take(self) -> list:
        held, self.partition.outputs = self.partition.outputs, []
        return held


def _dead_letters(held: list) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(value) for topic, _, value, _ in held
            if topic == TOPICS.dead_letters]


ACCEPTED = order("o1", "accepted", 5, rider="r1", promised_s=1800)


def test_a_record_forwarded_again_long_after_is_dropped_not_dead_lettered_as_late():
    p = Partition()
    p.forward(ACCEPTED, source=(0, 7))
    p.ride(ride("r1", duration_s=900, speed_kmh=18))
    p.take()
    p.forward(ACCEPTED, source=(0, 7))  # the input partition's new owner, from its commit
    assert _dead_letters(p.take()) == []
    assert p.partition.core.stats.duplicates == 1


def test_a_record_past_the_last_one_forwarded_is_processed():
    p = Partition()
    p.forward(ACCEPTED, source=(0, 7))
    p.ride(ride("r1", duration_s=900, speed_kmh=18))
    p.take()
    # Also late, but never seen: a dead letter, as replay would write.
    p.forward(order("o2", "accepted", 6, rider="r1", promised_s=1800), source=(0, 8))
    [dead] = _dead_letters(p.take())
    assert dead.key == "o2" and dead.error.startswith("late:")


def test_a_restarted_partition_still_recognises_what_was_forwarded_before():
    p = Partition()
    p.forward(ACCEPTED, source=(0, 7))
    p.ride(ride("r1", duration_s=900, speed_kmh=18))
    state = dict(p.partition.state_records())
    restarted = Partition()
    restarted.partition.restore(state)
    restarted.events = p.events
    restarted.take()
    restarted.forward(ACCEPTED, source=(0, 7))
    assert _dead_letters(restarted.take()) == []


def test_a_restarted_partition_re_reading_what_its_checkpoint_buffered_processes_it():
    p = Partition()
    at = p.events
    p.forward(ACCEPTED, source=(0, 7))  # buffered: event time has not passed it
    state = dict(p.partition.state_records())
    restarted = Partition()
    restarted.partition.restore(state)
    restarted.events = at  # read again from the oldest buffered record, as committed
    restarted.forward(ACCEPTED, source=(0, 7))
    restarted.ride(ride("r1", duration_s=900, speed_kmh=18))
    assert "o1" in restarted.partition.core.riders["r1"].pipeline.orders.active
