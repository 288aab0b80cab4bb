"""The partitions a worker owns: one transactional partition object per consumed partition,
started on first need, handed every record in order, checkpointed when due, dropped when the
partition is revoked or its transaction fenced."""

import asyncio
import logging
import time
from typing import Any

import faust
import orjson
from aiokafka.errors import IllegalOperation, InvalidProducerEpoch, KafkaError, ProducerFenced
from faust.types import TP

from streams.config.settings import KnightwatchSettings
from streams.primitives.zones import ZoneMap
from streams.worker import metrics
from streams.worker.ingest_partition import IngestPartition
from streams.worker.judge_partition import JudgePartition
from streams.worker.rider_partition import RiderPartition
from streams.worker.serving import ScoreServing
from streams.worker.transactional import Output, TransactionalPartition

log = logging.getLogger(__name__)

Key = tuple[str, int]  # topic, partition


class PartitionOwners:
    def __init__(self, app: faust.App, settings: KnightwatchSettings, zones: ZoneMap | None,
                 client_kwargs: dict[str, Any], serving: ScoreServing) -> None:
        self.app = app
        self.settings = settings
        self.zones = zones
        self.client_kwargs = client_kwargs
        self.serving = serving
        self.partitions: dict[Key, TransactionalPartition] = {}
        self._starting: dict[Key, asyncio.Future] = {}
        t = settings.topics
        self._stages = {t.rider_events: "riders", t.area_progress: "judges"}
        self._inputs = (t.gps, t.orders, t.weather, t.reviews)

    # -- ownership -------------------------------------------------------------------------

    async def get(self, topic: str, p: int) -> TransactionalPartition:
        """The partition's owner object, started (its state restored) on first need."""
        key = (topic, p)
        task = self.partitions.get(key)
        if task is not None:
            return task
        pending = self._starting.get(key)
        if pending is not None:  # being started by another coroutine: one owner per partition
            return await pending
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._starting[key] = future
        try:
            task = self._make(topic, p)
            await task.start()
            self.partitions[key] = task
            if isinstance(task, RiderPartition) and task.restored_scores:
                self.serving.hand_over(task.restored_scores)
            future.set_result(task)
            return task
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            self._starting.pop(key, None)

    def _make(self, topic: str, p: int) -> TransactionalPartition:
        t, settings, kwargs = self.settings.topics, self.settings, self.client_kwargs
        if topic == t.rider_events:
            return RiderPartition(settings, self.zones, p, kwargs)
        if topic == t.area_progress:
            return JudgePartition(settings, p, kwargs)
        tp, consumer = TP(topic, p), self.app.consumer

        def highwater() -> int | None:
            # The last fetch's figure: asking the broker goes through the consumer's thread
            # and takes a poll interval.
            try:
                return consumer.highwater(tp)
            except Exception:  # not fetched yet
                return None

        async def position() -> int | None:
            return await consumer.position(tp)

        return IngestPartition(settings, topic, p, kwargs, highwater, position)

    async def on_assigned(self, assigned: set) -> None:
        # Every input partition reports its progress, even one that never gets a record.
        for tp in sorted(assigned):
            if tp.topic in self._inputs:
                await self.get(tp.topic, tp.partition)

    async def on_revoked(self, revoked: set) -> None:
        for tp in revoked:
            task = self.partitions.pop((tp.topic, tp.partition), None)
            if task is not None:
                await task.stop()

    # -- processing ------------------------------------------------------------------------

    async def run_stage(self, stream: faust.StreamT) -> None:
        """An agent's loop: each record to its partition's owner, in order, never acked (the
        owners commit offsets in their transactions)."""
        async for event in stream.noack().events():
            message = event.message
            if message.tp not in self.app.consumer.assignment():
                continue  # fetched before a rebalance took the partition away
            task = await self.get(message.topic, message.partition)
            if isinstance(task, IngestPartition):
                metrics.RECORDS.labels(message.topic).inc()
                task.on_record(message.offset, message.key, message.value,
                               _timestamp_ms(message))
            else:
                task.on_record(message.offset, message.key, message.value)
            if task.due():
                await self.checkpoint(task)

    async def checkpoint_due(self) -> None:
        """On a timer: idle rider partitions run on, and every partition due commits."""
        now, wall_ms = time.monotonic(), int(time.time() * 1000)
        due = []
        for task in list(self.partitions.values()):
            if isinstance(task, RiderPartition) and task.on_idle(now, wall_ms):
                metrics.IDLE_RUN_ONS.inc()
            if task.due():
                due.append(task)
        # Each partition has its own producer and transaction: commit them side by side, so
        # that one partition's commit does not hold back every other partition's outputs.
        await asyncio.gather(*(self.checkpoint(task) for task in due))

    async def checkpoint(self, task: TransactionalPartition) -> None:
        stage = self._stages.get(task.source_topic, "ingest")
        try:
            with metrics.CHECKPOINT_SECONDS.labels(stage).time():
                committed = await task.checkpoint()
        except (ProducerFenced, InvalidProducerEpoch) as exc:
            metrics.CHECKPOINT_FAILURES.labels(stage).inc()
            if TP(task.source_topic, task.partition) not in self.app.consumer.assignment():
                # Fenced by the partition's new owner after a rebalance: what this one held
                # was not committed, and the new owner redoes it.
                log.warning("dropping %s partition %d: %r", stage, task.partition, exc)
                await self._drop(task)
                return
            # Fenced though the partition is still ours (a start elsewhere that outlived its
            # revocation): like any broken transaction, only a restart is safe.
            await self._fail(task, stage, exc)
            return
        except (KafkaError, IllegalOperation) as exc:
            # A broken transaction: its outputs, state and offset were not committed, but this
            # process has processed the records and moved its consumer on. Only a restart
            # (the supervisor's) rebuilds every partition from its last commit; carrying on
            # would skip the records the transaction held.
            metrics.CHECKPOINT_FAILURES.labels(stage).inc()
            await self._fail(task, stage, exc)
            return
        metrics.CHECKPOINTS.labels(stage).inc()
        _count_outputs(self.settings, committed)
        if stage == "riders":
            self.serving.hand_over(committed)  # written by the serving timer, never awaited

    async def _fail(self, task: TransactionalPartition, stage: str, exc: BaseException) -> None:
        log.error("%s partition %d could not commit: %r; stopping for a restart",
                  stage, task.partition, exc)
        await self._drop(task)
        await self.app.crash(exc)

    async def _drop(self, task: TransactionalPartition) -> None:
        self.partitions.pop((task.source_topic, task.partition), None)
        await task.stop()

    def names(self) -> list[str]:
        return sorted(f"{topic}/{p}" for topic, p in self.partitions)


def _timestamp_ms(message: Any) -> int | None:
    """A Kafka record's timestamp in epoch ms (Faust gives seconds), None when it has none."""
    ts = getattr(message, "timestamp", None)
    return round(ts * 1000) if ts and ts > 0 else None


def _count_outputs(settings: KnightwatchSettings, outputs: list[Output]) -> None:
    t = settings.topics
    for topic, _, value, _ in outputs:
        if topic == t.alerts:
            v = orjson.loads(value)
            metrics.ALERTS.labels(v["kind"], v["severity"]).inc()
        elif topic == t.deltas:
            metrics.DELTAS.labels(orjson.loads(value)["reason"]).inc()
        elif topic == t.exemptions:
            metrics.DECISIONS.labels(str(orjson.loads(value)["exempt"]).lower()).inc()
        elif topic == t.dead_letters:
            metrics.DEAD_LETTERS.labels(orjson.loads(value)["source_topic"]).inc()
