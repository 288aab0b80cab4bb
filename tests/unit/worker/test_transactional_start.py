"""A partition whose producer cannot start for a moment (a broker just back from a pause) starts
once it can, rather than failing the agent that was about to hand it a record."""

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError

from streams.config.settings import load_settings
from streams.worker import transactional
from streams.worker.transactional import TransactionalPartition

SETTINGS = load_settings()


class _Partition(TransactionalPartition):
    def __init__(self) -> None:
        super().__init__(SETTINGS, source_topic="in", partition=0, state_topic=None,
                         client_kwargs={})
        self.restored = 0

    def on_record(self, offset, key, value) -> None: ...

    def restore(self, state) -> None:
        self.restored += 1

    def state_records(self) -> list:
        return []

    def commit_offset(self) -> None:
        return None


def _producers(monkeypatch, failures: list[BaseException]) -> list:
    """Fake producers: the nth fails to start with failures[n], if there is one."""
    made = []

    class Producer:
        def __init__(self, **kwargs) -> None:
            self.failure = failures[len(made)] if len(made) < len(failures) else None
            self.stopped = self.in_transaction = False
            made.append(self)

        async def start(self) -> None:
            if self.failure is not None:
                raise self.failure

        async def stop(self) -> None:
            self.stopped = True

        async def begin_transaction(self) -> None:
            self.in_transaction = True

    monkeypatch.setattr(transactional, "AIOKafkaProducer", Producer)
    return made


def test_a_producer_that_cannot_start_for_a_moment_is_started_again(monkeypatch):
    made = _producers(monkeypatch, [AssertionError("Did we not perform bootstrap?"),
                                    KafkaConnectionError("no broker")])
    partition = _Partition()
    asyncio.run(partition.start())
    assert [p.stopped for p in made] == [True, True, False]
    assert partition.producer is made[2] and made[2].in_transaction
    assert partition.restored == 1


def test_a_producer_that_never_starts_fails_the_start_in_the_end(monkeypatch):
    made = _producers(monkeypatch, [KafkaConnectionError("no broker")] * 100)
    partition = _Partition()
    partition.start_retry_s = 0.5
    with pytest.raises(KafkaConnectionError):
        asyncio.run(partition.start())
    assert 1 < len(made) < 10 and all(p.stopped for p in made)
    assert partition.producer is None
