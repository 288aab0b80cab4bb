"""An idle rider partition lets its event time run on to the wall clock, as a heartbeat would;
one that is only behind, or whose inputs have gone silent, does not."""

import orjson
import pytest

from schemas import GpsPing
from streams.config.settings import KnightwatchSettings, SettingsError, load_settings
from streams.worker.codec import InputProgress, encode_rider_record
from streams.worker.rider_partition import RiderPartition
from tests.builders import T0, ride

SETTINGS = load_settings(kafka={"gps_partitions": 1, "partitions": 1, "area_partitions": 1,
                                "idle_after_s": 8})
IDLE_S = SETTINGS.kafka.idle_after_s
WALL_MS = T0 + 30 * 86_400_000  # the records are a month old
TOPICS = SETTINGS.topics
SOURCES = (TOPICS.gps, TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _data() -> list[bytes]:
    # Speeding in the last minutes of input: held for records that could still come.
    fixes = ride("speeder", speed_kmh=[18.0] * 10 + [40.0] * 30 + [18.0] * 6, duration_s=180)
    return [encode_rider_record(e) for e in fixes]


class Partition:
    """A rider partition with clocks of its own."""

    def __init__(self, settings: KnightwatchSettings = SETTINGS) -> None:
        self.clock = Clock()
        self.start = self.clock.now
        self.task = RiderPartition(settings, None, 0, client_kwargs={})
        self.task.monotonic = self.clock
        self.records: list[bytes] = []

    @property
    def wall_ms(self) -> int:
        return WALL_MS + int((self.clock.now - self.start) * 1000)

    def read(self, records: list[bytes]) -> list:
        for record in records:
            self.records.append(record)
            self.task.on_record(len(self.records) - 1, None, record)
        held, self.task.outputs = self.task.outputs, []
        return held

    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    def on_idle(self) -> bool:
        return self.task.on_idle(self.clock.now, self.wall_ms)

    def words(self, caught_up: bool = True, sources: tuple[str, ...] = SOURCES,
              age_s: float = 0) -> list[bytes]:
        """What input partitions say of their progress, sent `age_s` ago."""
        sent = self.wall_ms - int(age_s * 1000)
        return [encode_rider_record(InputProgress(topic, 0, T0, caught_up, sent))
                for topic in sources]


def _final(held: list) -> set:
    """Final records (deltas, decisions, subsidies): what must not wait for more input."""
    return {(topic, value) for topic, _, value, _ in held
            if topic in (TOPICS.deltas, TOPICS.exemptions, TOPICS.subsidies)}


def _idle_partition() -> Partition:
    """Read everything, then quiet for the idle wait while its inputs keep saying they are
    caught up (as they do every quarter of it)."""
    p = Partition()
    p.read(p.words() + _data())
    for _ in range(4):
        p.wait(IDLE_S / 4)
        p.read(p.words())
    return p


def test_an_idle_partition_closes_what_a_heartbeat_would_close():
    heartbeat = encode_rider_record(GpsPing(rider_id="__heartbeat__0", ts=WALL_MS, lat=0, lon=0))
    whole = Partition()
    expected = _final(whole.read(whole.words() + _data() + [heartbeat]))
    assert any(orjson.loads(v).get("reason") == "speeding" for _, v in expected)

    p = Partition()
    before = _final(p.read(p.words() + _data()))
    assert before != expected, "without more input, the speeding stays open"
    for _ in range(4):
        p.wait(IDLE_S / 4)
        before |= _final(p.read(p.words()))
    assert p.on_idle()
    assert before | _final(p.task.outputs) == expected
    assert p.task.due(), "the run-on is committed by the next checkpoint"


def test_idleness_is_measured_from_the_last_input_record():
    p = _idle_partition()
    p.read(_data()[-1:])  # one more fix (a duplicate, but read)
    assert not p.on_idle()


def test_an_input_that_is_behind_keeps_the_partition_from_idling():
    p = _idle_partition()
    p.read(p.words(caught_up=False, sources=(TOPICS.orders,)))
    assert not p.on_idle()


def test_an_input_gone_silent_keeps_the_partition_from_idling():
    """Its owner died or the broker froze: its last word, however good, is stale."""
    p = Partition()
    p.read(p.words() + _data())
    p.wait(IDLE_S)
    p.read(p.words(sources=SOURCES[1:]))  # the GPS input says nothing any more
    assert not p.on_idle()


def test_words_read_late_are_as_old_as_when_they_were_sent():
    """A backlog of old caught-up words, read now, says nothing about now."""
    p = Partition()
    p.read(p.words() + _data())
    p.wait(IDLE_S)
    p.read(p.words(age_s=IDLE_S * 0.75))
    assert not p.on_idle()
    p.read(p.words(age_s=IDLE_S * 0.25))
    assert p.on_idle()


def test_an_idle_partition_runs_on_once_per_idle_wait():
    p = _idle_partition()
    assert p.on_idle()
    p.wait(1)
    p.read(p.words())
    assert not p.on_idle()


def test_idleness_off_never_runs_on():
    p = Partition(load_settings(kafka={"gps_partitions": 1, "partitions": 1,
                                       "area_partitions": 1, "idle_after_s": 0}))
    p.read(p.words() + _data())
    p.wait(3600)
    p.read(p.words())
    assert not p.on_idle()


def test_a_restored_partition_still_re_reading_is_not_idle():
    first = Partition()
    first.read(first.words() + _data()[:40])
    second = Partition()
    second.task.restore(dict(first.task.state_records()))
    assert second.task.core.holding
    second.wait(IDLE_S)
    second.read(second.words())
    assert not second.on_idle()


def test_an_idle_wait_within_a_checkpoint_interval_is_refused():
    with pytest.raises(SettingsError, match="idle_after_s"):
        load_settings(kafka={"idle_after_s": 1, "checkpoint_interval_s": 2})


def test_a_repeated_word_from_an_input_does_not_make_a_checkpoint_due():
    p = _idle_partition()
    p.task.since_checkpoint = 0
    p.read(p.words())
    assert p.task.since_checkpoint == 0


def test_a_re_read_ending_on_a_repeated_word_releases_what_it_held():
    first = Partition()
    words = first.words()
    first.read(words + _data() + words)  # the checkpoint's last record: a repeat
    second = Partition()
    second.task.restore(dict(first.task.state_records()))
    second.read(words + _data() + words)
    assert not second.task.core.holding
