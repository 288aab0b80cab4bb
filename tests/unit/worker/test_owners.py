"""What a worker does when a partition's transaction fails: a partition taken over by a new
owner is dropped; any other failure stops the worker, whose restart rebuilds every partition
from its last commit (carrying on would skip what the failed transaction held)."""

import asyncio

import pytest
from aiokafka.errors import KafkaTimeoutError, ProducerFenced
from faust.types import TP

from streams.config.settings import load_settings
from streams.worker.owners import PartitionOwners
from streams.worker.serving import ScoreServing

SETTINGS = load_settings()
TOPIC = SETTINGS.topics.rider_events


class Consumer:
    def __init__(self, assigned: set) -> None:
        self.assigned = assigned

    def assignment(self) -> set:
        return self.assigned


class App:
    def __init__(self, assigned: set) -> None:
        self.consumer = Consumer(assigned)
        self.crashed: list[BaseException] = []

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


class Failing:
    source_topic, partition = TOPIC, 3

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.stopped = False

    async def checkpoint(self) -> list:
        raise self.exc

    async def stop(self) -> None:
        self.stopped = True


def _fail(exc: BaseException, assigned: set) -> tuple[App, PartitionOwners, Failing]:
    app = App(assigned)
    owners = PartitionOwners(app, SETTINGS, None, {},  # type: ignore[arg-type]
                             ScoreServing("redis://127.0.0.1:1/0", SETTINGS.topics.deltas))
    task = Failing(exc)
    owners.partitions[(TOPIC, 3)] = task  # type: ignore[assignment]
    asyncio.run(owners.checkpoint(task))  # type: ignore[arg-type]
    return app, owners, task


def test_a_partition_fenced_by_its_new_owner_is_dropped_and_the_worker_goes_on():
    app, owners, task = _fail(ProducerFenced(), assigned=set())
    assert task.stopped and not owners.partitions and not app.crashed


@pytest.mark.parametrize("exc", [ProducerFenced(), KafkaTimeoutError()],
                         ids=["fenced-though-still-ours", "broken"])
def test_any_other_failed_commit_stops_the_worker_for_a_restart(exc):
    app, owners, task = _fail(exc, assigned={TP(TOPIC, 3)})
    assert task.stopped and not owners.partitions and app.crashed == [exc]

