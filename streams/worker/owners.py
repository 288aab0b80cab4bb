"""The partitions a worker owns: one transactional partition object per consumed partition (a
rider partition owns two: its rider-gps and rider-events partitions of the same number),
started on assignment, handed every record in order, checkpointed when due, dropped when the
partition is revoked or its transaction fenced."""

import asyncio
import logging
import time
from typing import Any

import faust
from aiokafka.errors import IllegalOperation, InvalidProducerEpoch, KafkaError, ProducerFenced
from faust.types import TP

from streams.config.settings import KnightwatchSettings
from streams.primitives.zones import ZoneMap
from streams.worker import metrics
from streams.worker.client_loop import ClientLoop, SameLoop
from streams.worker.ingest_partition import IngestPartition
from streams.worker.input_position import EarliestOffsets, OffsetReader
from streams.worker.judge_partition import JudgePartition
from streams.worker.profile_partition import ProfilePartition
from streams.worker.rider_partition import RiderPartition
from streams.worker.serving import ServingWriter
from streams.worker.transactional import TransactionalPartition

log = logging.getLogger(__name__)

Key = tuple[str, int]  # topic, partition


class PartitionOwners:
    def __init__(self, app: faust.App, settings: KnightwatchSettings, zones: ZoneMap | None,
                 client_kwargs: dict[str, Any], serving: ServingWriter,
                 clients: ClientLoop | None = None) -> None:
        self.app = app
        # Where every owner's producer runs (client_loop.py); by default the caller's loop.
        self.clients = clients if clients is not None else SameLoop()
        self.settings = settings
        self.zones = zones
        self.client_kwargs = client_kwargs
        self.serving = serving
        self.partitions: dict[Key, TransactionalPartition] = {}
        self._offsets = OffsetReader(client_kwargs)
        self._earliest = EarliestOffsets(self._ask_earliest,
                                         settings.kafka.earliest_offset_refresh_s)
        self._starting: dict[Key, asyncio.Future] = {}
        # Checkpoints under way, by owner (id): at most one each, never awaited by the fetch loop.
        self._committing: dict[int, asyncio.Future] = {}
        self._crash: asyncio.Future | None = None
        t = settings.topics
        self._stages = {t.rider_events: "riders", t.area_progress: "judges",
                        t.profiles: "profiles"}
        self._gps = t.gps
        # Through the ingest stage:
        self._inputs = (t.orders, t.weather, t.reviews, t.redemptions)
        serving.on_redis_reset = self.serve_again

    # -- ownership -------------------------------------------------------------------------

    async def get(self, topic: str, p: int) -> TransactionalPartition:
        """The partition's owner object, started (its state restored) on first need."""
        if topic == self._gps:
            topic = self.settings.topics.rider_events  # GPS is read by its rider partition
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
            task.clients = self.clients
            await task.start()
            self.partitions[key] = task
            if isinstance(task, RiderPartition):
                self.serving.hand_over_state(task.restored)
                task.live.positions_of = self.serving.certified
            future.set_result(task)
            return task
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            self._starting.pop(key, None)

    async def _ask_earliest(self, tp: TP) -> int | None:
        # On the client loop, never through the worker's consumer (see OffsetReader).
        return await self.clients.run(self._offsets.earliest(tp.topic, tp.partition))

    def _make(self, topic: str, p: int) -> TransactionalPartition:
        t, settings, kwargs = self.settings.topics, self.settings, self.client_kwargs
        if topic == t.area_progress:
            return JudgePartition(settings, p, kwargs)
        if topic == t.profiles:
            return ProfilePartition(settings, p, kwargs, self.serving)
        tp = TP(t.gps if topic == t.rider_events else topic, p)
        consumer = self.app.consumer

        def highwater() -> int | None:
            # The last fetch's figure: asking the broker goes through the consumer's thread
            # and takes a poll interval.
            try:
                return consumer.highwater(tp)
            except Exception:  # not fetched yet
                return None

        def polled_at() -> int | None:
            # aiokafka's record of when the fetch that gave `highwater` came back.
            try:
                return consumer._thread._ensure_consumer().last_poll_timestamp(tp)
            except Exception:  # not fetched yet, or no longer assigned
                return None

        async def position() -> int | None:
            # Where this owner starts reading, for an owner that has been handed nothing yet:
            # the next offset to hand on, which the seek to the group's commit sets, else (no
            # commit) the partition's earliest. Not the consumer's position: that moves when a
            # batch is fetched, before its records are handed on, and an input owner would
            # then say it has caught up while the records are still on their way to it.
            start = consumer._read_offset.get(tp)
            if start is not None:
                return start
            return self._earliest.get(tp)

        if topic == t.rider_events:
            return RiderPartition(settings, self.zones, p, kwargs, highwater, position,
                                  polled_at)
        return IngestPartition(settings, topic, p, kwargs, highwater, position, polled_at)

    async def on_assigned(self, assigned: set) -> None:
        """Start every assigned partition's owner, side by side: each starts a producer and
        reads its state, which takes a few hundred milliseconds, and started on its first
        record instead, one after another, they held up the fetch loop for seconds. Every
        input partition then reports its progress, even one that never gets a record."""
        t = self.settings.topics
        gps = {tp.partition for tp in assigned if tp.topic == t.gps}
        events = {tp.partition for tp in assigned if tp.topic == t.rider_events}
        if gps != events:
            # Faust assigns topics of equal partition counts consumed by the same workers
            # partition by partition; anything else would split a rider partition in two.
            raise RuntimeError(f"{t.gps} partitions {sorted(gps)} and {t.rider_events} "
                               f"partitions {sorted(events)} were not assigned together")
        ours = set(self._stages) | set(self._inputs)
        await asyncio.gather(*(self.get(tp.topic, tp.partition)
                               for tp in sorted(assigned) if tp.topic in ours))

    async def on_revoked(self, revoked: set) -> None:
        """Stop the revoked partitions' owners, side by side: each aborts its transaction and
        stops its producer, and the group's rebalance waits for all of them (one after
        another, ~50 of them held a two-worker start for ~7 s)."""
        tasks = [self.partitions.pop((tp.topic, tp.partition), None) for tp in revoked]
        await asyncio.gather(*(task.stop() for task in tasks if task is not None))

    def serve_again(self) -> None:
        """Hand every rider in memory to the serving layer again (Redis came back empty).
        Their latest state may include what the next checkpoint commits: it is the same
        however often it is processed again."""
        for task in list(self.partitions.values()):
            if isinstance(task, RiderPartition):
                self.serving.hand_over_state(task.served_state())

    # -- processing ------------------------------------------------------------------------

    async def on_batch(self, tp: TP, records: list[Any]) -> bool:
        """A fetched batch of one partition (aiokafka records, in offset order) to its owner,
        never acked: the owners commit offsets in their transactions. Returns whether it took
        the batch."""
        consumer = self.app.consumer
        generation = self.app.consumer_generation_id
        if tp not in consumer.assignment():
            return False  # fetched before a rebalance took the partition away
        task = await self.get(tp.topic, tp.partition)
        if self.app.consumer_generation_id != generation or not consumer.flow_active:
            # A rebalance came while the owner started: the owner now is one restored from
            # the last commit, and reads again from there; this batch was fetched before.
            return False
        # An alert's latency runs from its record's arrival: the Kafka timestamp, up to now.
        now_ms = int(time.time() * 1000)
        if tp.topic == self._gps:
            assert isinstance(task, RiderPartition)
            metrics.RECORDS_CONSUMED.labels(tp.topic).inc(len(records))
            for record in records:
                timestamp = _timestamp_ms(record.timestamp)
                task.arrived_ms = now_ms if timestamp is None else min(timestamp, now_ms)
                task.on_gps(record.offset, record.key, record.value, timestamp)
            task.arrived_ms = None
            await task.refresh_gps_progress(now_ms)
            self.serving.hand_over_live(task.live.drain())
        elif isinstance(task, IngestPartition | ProfilePartition):
            metrics.RECORDS_CONSUMED.labels(tp.topic).inc(len(records))
            for record in records:
                task.on_record(record.offset, record.key, record.value,
                               _timestamp_ms(record.timestamp))
        else:
            for record in records:
                timestamp = _timestamp_ms(record.timestamp)
                task.arrived_ms = now_ms if timestamp is None else min(timestamp, now_ms)
                task.on_record(record.offset, record.key, record.value)
            task.arrived_ms = None
            if isinstance(task, RiderPartition):
                self.serving.hand_over_live(task.live.drain())
        if task.due():
            self.commit_soon(task)
        return True

    async def checkpoint_due(self) -> None:
        """On a timer: idle rider partitions run on, and every partition due commits."""
        now, wall_ms = time.monotonic(), int(time.time() * 1000)
        due = []
        for task in list(self.partitions.values()):
            if isinstance(task, RiderPartition):
                await task.refresh_gps_progress(wall_ms)
                if task.on_idle(now, wall_ms):
                    metrics.IDLE_RUN_ONS.inc()
            if task.due():
                due.append(task)
        # Each partition has its own producer and transaction: commit them side by side, so
        # that one partition's commit does not hold back every other partition's outputs.
        await asyncio.gather(*(self.commit_soon(task) for task in due))

    def commit_soon(self, task: TransactionalPartition) -> asyncio.Future:
        """Start the partition's checkpoint, or return the one under way. The fetch loop does
        not wait for it: a commit takes several round trips to the broker, and awaited there,
        each partition's commits held up every other partition's records (a live worker fell
        seconds behind). What the partition processes meanwhile goes into the next
        checkpoint: the checkpoint takes outputs, state and offsets in one step."""
        key = id(task)
        running = self._committing.get(key)
        if running is not None:
            return running
        future = asyncio.ensure_future(self.checkpoint(task))
        self._committing[key] = future

        def done(finished: asyncio.Future) -> None:
            del self._committing[key]
            if finished.cancelled():
                return
            exc = finished.exception()
            if exc is not None:  # checkpoint() handles Kafka's errors: this is a bug
                log.error("checkpoint of %s failed", task.transactional_id, exc_info=exc)
                self._crash = asyncio.ensure_future(self.app.crash(exc))
            elif task.producer is not None and task.due():
                self.commit_soon(task)  # an urgent alert came while it was committing

        future.add_done_callback(done)
        return future

    async def checkpoint(self, task: TransactionalPartition) -> None:
        stage = task.stage
        try:
            with metrics.CHECKPOINT_DURATION.labels(stage).time():
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
        if isinstance(task, RiderPartition):
            # Written by the serving timer, never awaited.
            self.serving.hand_over(committed, task.placing_of)

    async def _fail(self, task: TransactionalPartition, stage: str, exc: BaseException) -> None:
        log.error("%s partition %d could not commit: %r; stopping for a restart",
                  stage, task.partition, exc)
        await self._drop(task)
        await self.app.crash(exc)

    async def _drop(self, task: TransactionalPartition) -> None:
        self.partitions.pop((task.source_topic, task.partition), None)
        await task.stop()

    def names(self) -> list[str]:
        """The partitions held, a rider partition's rider-gps partition included."""
        events, gps = self.settings.topics.rider_events, self._gps
        return sorted(f"{name}/{p}" for topic, p in self.partitions
                      for name in ([topic, gps] if topic == events else [topic]))


def _timestamp_ms(timestamp: int | None) -> int | None:
    """A Kafka record's timestamp (epoch ms), None when it has none."""
    return timestamp if timestamp is not None and timestamp > 0 else None

