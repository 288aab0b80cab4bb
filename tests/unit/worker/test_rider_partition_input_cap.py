"""How far a rider partition lets event time go: up to what every input has delivered, leaving
out inputs that said lately that they have caught up, and only lately: an input fallen silent
(its owner killed, say) holds back event time again, so what it sends when it is back is not
late."""

from schemas import GpsPing
from streams.config.settings import load_settings
from streams.pipeline.clock import END_OF_TIME
from streams.worker.codec import InputProgress, encode_rider_record
from streams.worker.rider_partition import RiderPartition
from tests.builders import T0

SETTINGS = load_settings(kafka={"gps_partitions": 1, "partitions": 1, "area_partitions": 1})
TOPICS = SETTINGS.topics
VALID_MS = int(SETTINGS.kafka.caught_up_valid_s * 1000)


class Words:
    def __init__(self) -> None:
        self.partition = RiderPartition(SETTINGS, None, 0, client_kwargs={})
        self.offset = 0

    def say(self, topic: str, until: int, caught_up: bool, sent_ms: int) -> int:
        """One input's word; returns the partition's input cap after it."""
        word = InputProgress(topic, 0, until, caught_up, sent_ms)
        self.partition.on_record(self.offset, None, encode_rider_record(word))
        self.offset += 1
        return self.partition.core.clock.input_cap


def test_an_input_silent_for_longer_than_its_caught_up_word_holds_holds_back_event_time():
    words = Words()
    others = (TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions)
    for topic in others:
        words.say(topic, T0, caught_up=True, sent_ms=1_000)
    assert words.say(TOPICS.gps, T0 + 60_000, caught_up=False, sent_ms=1_000) == T0 + 60_000
    # The fixes go on while the others' words still hold: they count as caught up.
    assert words.say(TOPICS.gps, T0 + 120_000, False, 1_000 + VALID_MS) == T0 + 120_000
    # Later than that, with no word from them since: event time may not pass what they had
    # delivered (what was released stays released; nothing more is).
    assert words.say(TOPICS.gps, T0 + 180_000, False, 1_001 + VALID_MS) == T0
    # Each says it again: event time goes on with the fixes.
    for topic in others[:-1]:
        assert words.say(topic, T0, True, 1_001 + VALID_MS) == T0
    assert words.say(others[-1], T0, True, 1_001 + VALID_MS) == T0 + 180_000


def test_once_every_input_has_caught_up_one_falling_silent_still_stops_event_time():
    """With every input caught up nothing bounds event time; that must not last past the
    word of an input that then falls silent."""
    words = Words()
    for topic in (TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions,
                  TOPICS.gps):
        words.say(topic, T0, caught_up=True, sent_ms=1_000)
    assert words.partition.core.clock.input_cap > T0 + 10**12
    for topic in (TOPICS.reviews, TOPICS.weather, TOPICS.redemptions):
        words.say(topic, T0, True, 1_001 + VALID_MS)
    assert words.say(TOPICS.gps, T0 + 60_000, True, 1_001 + VALID_MS) == T0


def test_a_restarted_partition_keeps_the_words_it_had_until_newer_ones_age_them():
    words = Words()
    for topic in (TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions):
        words.say(topic, T0, caught_up=True, sent_ms=1_000)
    words.say(TOPICS.gps, T0 + 60_000, caught_up=False, sent_ms=1_000)
    restarted = Words()
    restarted.partition.restore(dict(words.partition.state_records()))
    restarted.offset = words.offset
    assert restarted.say(TOPICS.gps, T0 + 90_000, False, 2_000) == T0 + 90_000
    assert restarted.say(TOPICS.gps, T0 + 120_000, False, 1_001 + VALID_MS) == T0


def test_the_partitions_own_rider_gps_word_ages_no_other_input():
    """Its own word is sent at its wall clock, the others' reach it after their commits: a
    delay they all share must not make them look silent."""
    words = Words()
    for topic in (TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions):
        words.say(topic, T0, caught_up=True, sent_ms=1_000)
    partition = words.partition
    partition._gps_max_ts = T0 + 60_000
    partition.on_gps_progress(read_to=0, wall_ms=1_001 + VALID_MS)
    assert partition.core.clock.input_cap == T0 + 60_000


def _fix_written_at(words: Words, offset: int, ts: int, written_ms: int) -> None:
    """A fix of rider-gps at event time `ts`, whose Kafka timestamp is `written_ms`."""
    fix = GpsPing(rider_id="r1", ts=ts, lat=31.23, lon=121.47, speed_kmh=15.0)
    words.partition.on_gps(offset, b"r1", fix.model_dump_json().encode(), written_ms)


def test_a_fix_written_long_after_an_inputs_caught_up_word_holds_event_time_with_no_word_since():
    """Every other input's owner dies at once (all words stop, none newer than another): fixes
    written more than `caught_up_valid_s` after their last word must not carry event time past
    what they had delivered, or what they still hold arrives late."""
    words = Words()
    partition = words.partition
    partition.wall_ms = lambda: 10**13
    for topic in (TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions):
        words.say(topic, T0, caught_up=True, sent_ms=T0)
    words.say(TOPICS.gps, T0, caught_up=True, sent_ms=T0)
    _fix_written_at(words, 0, T0 + 30_000, written_ms=T0 + VALID_MS)
    assert partition.core.clock.input_cap == END_OF_TIME, "still covered by their words"
    _fix_written_at(words, 1, T0 + 60_000, written_ms=T0 + VALID_MS + 1)
    assert partition.core.clock.input_cap == T0


def test_a_fix_stamped_ahead_of_the_workers_clock_ages_words_only_up_to_that_clock():
    """A writer with its clock an hour ahead must not make every input look silent."""
    words = Words()
    partition = words.partition
    partition.wall_ms = lambda: T0 + 5_000
    for topic in (TOPICS.orders, TOPICS.reviews, TOPICS.weather, TOPICS.redemptions):
        words.say(topic, T0, caught_up=True, sent_ms=T0)
    words.say(TOPICS.gps, T0, caught_up=True, sent_ms=T0)
    _fix_written_at(words, 0, T0 + 30_000, written_ms=T0 + 3_600_000)
    assert partition.core.clock.input_cap == END_OF_TIME
    partition.wall_ms = lambda: T0 + VALID_MS + 1
    _fix_written_at(words, 1, T0 + 31_000, written_ms=T0 + 3_600_000)
    assert partition.core.clock.input_cap == T0, "aged once the worker's clock got there"
