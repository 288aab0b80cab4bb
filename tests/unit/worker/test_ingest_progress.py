"""An input partition tells the rider partitions how far it has got, and once caught up says
so again every quarter of the idle wait, so its silence means something."""

import asyncio

from streams.config.settings import load_settings
from streams.worker.codec import InputProgress, decode_rider_record
from streams.worker.ingest_partition import IngestPartition

SETTINGS = load_settings(kafka={"idle_after_s": 8})


def _partition(highwater: int | None, settings=SETTINGS) -> IngestPartition:
    return IngestPartition(settings, settings.topics.orders, 0, client_kwargs={},
                           highwater=lambda: highwater)


def _reports(partition: IngestPartition) -> list[InputProgress]:
    outputs = asyncio.run(partition.trailing_outputs())
    return [decode_rider_record(value) for _, _, value, _ in outputs]  # type: ignore[misc]


def test_a_caught_up_input_repeats_it_every_quarter_of_the_time_it_holds():
    partition = _partition(highwater=0)
    first = _reports(partition)
    assert first and all(r.caught_up for r in first)
    assert len(first) == SETTINGS.kafka.gps_partitions, "orders reach every rider partition"
    assert not partition.due() and _reports(partition) == [], "said once, not on every tick"
    partition._reported_at -= SETTINGS.kafka.caught_up_valid_s / 4
    assert partition.due()
    again = _reports(partition)
    assert [(r.topic, r.partition, r.until_ts, r.caught_up) for r in again] == [
        (r.topic, r.partition, r.until_ts, r.caught_up) for r in first]
    assert all(a.sent_ms >= f.sent_ms > 0 for a, f in zip(again, first, strict=True)), \
        "each word carries when it was sent"


def test_an_input_behind_its_topic_says_so():
    partition = _partition(highwater=5)
    assert not any(r.caught_up for r in _reports(partition))


def test_with_idleness_off_a_caught_up_input_still_repeats_it():
    """Rider partitions count an input as caught up only while it says so lately, idle or not."""
    settings = load_settings(kafka={"idle_after_s": 0})
    partition = _partition(highwater=0, settings=settings)
    assert _reports(partition)
    partition._reported_at -= settings.kafka.caught_up_valid_s / 4
    assert partition.due() and all(r.caught_up for r in _reports(partition))


def test_an_owner_that_starts_at_the_end_of_its_partition_is_caught_up_without_a_record():
    """The previous owner committed everything: the new one reads nothing and must still say
    it is caught up, or no rider partition would ever go idle."""

    async def at(offset: int):
        return offset

    at_end = IngestPartition(SETTINGS, SETTINGS.topics.gps, 0, client_kwargs={},
                             highwater=lambda: 1801, position=lambda: at(1801))
    assert all(r.caught_up for r in _reports(at_end))
    behind = IngestPartition(SETTINGS, SETTINGS.topics.gps, 0, client_kwargs={},
                             highwater=lambda: 1801, position=lambda: at(900))
    assert not any(r.caught_up for r in _reports(behind))


def test_a_caught_up_word_speaks_for_when_the_end_offset_was_fetched_not_when_it_is_sent():
    """Through a frozen broker the consumer's last fetch grows old while the word is repeated:
    it must not vouch for records written since that fetch."""
    polled = 1_000_000
    partition = IngestPartition(SETTINGS, SETTINGS.topics.orders, 0, client_kwargs={},
                                highwater=lambda: 0, polled_at=lambda: polled)
    assert [r.sent_ms for r in _reports(partition)] == [polled] * SETTINGS.kafka.gps_partitions


def test_a_word_not_caught_up_carries_when_it_was_sent():
    partition = IngestPartition(SETTINGS, SETTINGS.topics.orders, 0, client_kwargs={},
                                highwater=lambda: 5, polled_at=lambda: 1_000_000)
    assert all(r.sent_ms > 1_000_000 for r in _reports(partition))
