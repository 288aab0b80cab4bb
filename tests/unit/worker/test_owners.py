"""What a worker does when a partition's transaction fails: a partition taken over by a new
owner is dropped; any other failure stops the worker, whose restart rebuilds every partition
from its last commit (carrying on would skip what the failed transaction held)."""

import asyncio

import pytest
from aiokafka.errors import KafkaTimeoutError, ProducerFenced
from faust.types import TP

from streams.config.settings import load_settings
from streams.worker.owners import PartitionOwners
from streams.worker.serving import ServingWriter

SETTINGS = load_settings()
UNREACHABLE = load_settings(redis_url="redis://127.0.0.1:1/0")
TOPIC = SETTINGS.topics.rider_events


class Consumer:
    flow_active = True

    def __init__(self, assigned: set) -> None:
        self.assigned = assigned

    def assignment(self) -> set:
        return self.assigned


class App:
    def __init__(self, assigned: set) -> None:
        self.consumer = Consumer(assigned)
        self.consumer_generation_id = 1
        self.crashed: list[BaseException] = []

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


class Failing:
    source_topic, partition, stage = TOPIC, 3, "riders"

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
                             ServingWriter(UNREACHABLE))
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


class Stopping:
    """An owner whose stop waits until every other owner's stop has begun."""

    running = 0
    most = 0

    def __init__(self, partition: int, everyone: asyncio.Event, count: int) -> None:
        self.source_topic, self.partition = TOPIC, partition
        self.everyone, self.count = everyone, count

    async def stop(self) -> None:
        Stopping.running += 1
        Stopping.most = max(Stopping.most, Stopping.running)
        if Stopping.running == self.count:
            self.everyone.set()
        await asyncio.wait_for(self.everyone.wait(), timeout=5)
        Stopping.running -= 1


def test_revoked_partitions_stop_side_by_side_so_a_rebalance_waits_for_one_stop_not_all():
    async def revoke() -> PartitionOwners:
        owners = PartitionOwners(App(set()), SETTINGS, None, {},  # type: ignore[arg-type]
                                 ServingWriter(UNREACHABLE))
        everyone = asyncio.Event()
        for p in range(6):
            owners.partitions[(TOPIC, p)] = Stopping(p, everyone, 6)  # type: ignore[assignment]
        await owners.on_revoked({TP(TOPIC, p) for p in range(6)})
        return owners

    owners = asyncio.run(revoke())
    assert Stopping.most == 6 and not owners.partitions


class Committing:
    """An owner whose every record makes a checkpoint due, and whose commits wait for `release`."""

    def __init__(self, partition: int, release: asyncio.Event, log: list[str]) -> None:
        self.source_topic, self.partition, self.stage = TOPIC, partition, "riders"
        self.transactional_id = f"committing-{partition}"
        self.producer: object | None = object()
        self.release, self.log = release, log
        self.pending = 0

    def on_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.log.append(f"record {self.partition}:{offset}")
        self.pending += 1

    def due(self) -> bool:
        return self.pending > 0

    async def checkpoint(self) -> list:
        self.pending = 0  # taken at once, as TransactionalPartition.checkpoint does
        self.log.append(f"commit {self.partition} sent")
        await self.release.wait()
        self.log.append(f"commit {self.partition} done")
        return []


class Record:
    def __init__(self, offset: int) -> None:
        self.offset, self.key, self.value, self.timestamp = offset, None, b"{}", -1


def test_a_partitions_commit_under_way_does_not_hold_up_other_partitions_batches():
    async def batches() -> list[str]:
        log: list[str] = []
        release = asyncio.Event()
        app = App({TP(TOPIC, 0), TP(TOPIC, 1)})
        owners = PartitionOwners(app, SETTINGS, None, {},  # type: ignore[arg-type]
                                 ServingWriter(UNREACHABLE))
        for p in (0, 1):
            owners.partitions[(TOPIC, p)] = Committing(p, release, log)  # type: ignore
        assert await owners.on_batch(TP(TOPIC, 0), [Record(0)])
        await asyncio.sleep(0)  # the commit starts and waits on the broker
        assert await owners.on_batch(TP(TOPIC, 1), [Record(0)])
        assert await owners.on_batch(TP(TOPIC, 0), [Record(1)])
        release.set()
        await owners.checkpoint_due()
        while owners._committing:
            await asyncio.sleep(0)
        return log

    log = asyncio.run(asyncio.wait_for(batches(), timeout=5))
    assert log.index("record 1:0") < log.index("commit 0 done"), "waited for partition 0's commit"
    assert log.index("record 0:1") < log.index("commit 0 done")
    assert log.count("commit 0 sent") == 2, "what came during the commit goes into the next one"


def test_an_earliest_offset_is_asked_on_the_client_loop_never_through_the_workers_consumer():
    # The fake consumer has no earliest_offsets: asking through it would raise.
    class Reader:
        async def earliest(self, topic: str, partition: int) -> int:
            return {(TOPIC, 3): 7}[(topic, partition)]

    class Clients:
        ran = 0

        async def run(self, coro):
            Clients.ran += 1
            return await coro

    owners = PartitionOwners(App(set()), SETTINGS, None, {},  # type: ignore[arg-type]
                             ServingWriter(UNREACHABLE), Clients())
    owners._offsets = Reader()  # type: ignore[assignment]
    assert asyncio.run(owners._ask_earliest(TP(TOPIC, 3))) == 7
    assert Clients.ran == 1
