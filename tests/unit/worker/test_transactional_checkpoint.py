"""A checkpoint takes outputs, state and offset together: a record the agent processes while
the transaction is being sent goes wholly into the next one."""

import asyncio

from streams.config.settings import load_settings
from streams.worker.ingest_partition import IngestPartition
from tests.builders import ping

SETTINGS = load_settings()


class Producer:
    """Records what each transaction holds; runs `during_send` at its first send, as the agent
    does when it processes a record while a checkpoint awaits the broker."""

    def __init__(self, during_send) -> None:
        self.during_send = during_send
        self.sent: list[tuple] = []
        self.offsets: list[dict] = []
        self.committed: list[tuple[list, list]] = []

    async def send(self, topic, value, key=None, partition=None) -> None:
        if self.during_send is not None:
            hook, self.during_send = self.during_send, None
            hook()
        await asyncio.sleep(0)
        self.sent.append((topic, value))

    async def send_offsets_to_transaction(self, offsets, group_id) -> None:
        self.offsets.append(offsets)

    async def commit_transaction(self) -> None:
        self.committed.append((self.sent, self.offsets))
        self.sent, self.offsets = [], []

    async def begin_transaction(self) -> None:
        return None


def _record(n: int) -> bytes:
    return ping("r1", n, speed=18).model_dump_json().encode()


def test_a_record_processed_while_a_checkpoint_is_sent_belongs_to_the_next_one():
    partition = IngestPartition(SETTINGS, SETTINGS.topics.gps, 0, client_kwargs={},
                                highwater=lambda: None)
    for offset in range(5):
        partition.on_record(offset, b"r1", _record(offset))
    producer = Producer(during_send=lambda: partition.on_record(5, b"r1", _record(5)))
    partition.producer = producer  # type: ignore[assignment]

    asyncio.run(partition.checkpoint())
    [(sent, offsets)] = producer.committed
    forwarded = [value for topic, value in sent if topic == SETTINGS.topics.rider_events
                 and b'"k":"gps"' in value]
    assert len(forwarded) == 5, "the transaction holds the five records it took"
    assert list(offsets[0].values()) == [5], \
        "and the offset after them, not after the one processed meanwhile"
    assert len(partition.outputs) == 1 and partition.since_checkpoint == 1, \
        "the record processed meanwhile waits for the next checkpoint"

    asyncio.run(partition.checkpoint())
    [_, (sent, offsets)] = producer.committed
    assert len([v for t, v in sent if b'"k":"gps"' in v]) == 1
    assert list(offsets[0].values()) == [6]
