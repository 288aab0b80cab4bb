"""The Faust app: ingest agents validate and route every input to the rider partitions; rider
agents run the detection core per partition; judge agents decide congestion per cell group.

    inputs --ingest--> knightwatch-rider-events (by rider; weather to all partitions)
    rider-events --riders--> alerts, deltas, exemptions, subsidies, dead letters
        and --> knightwatch-area-progress (by cell) --judges--> area-risk, congestion alerts
            and judgements back to every rider partition
"""

import asyncio
import logging
import time
from typing import Any

import faust
from aiokafka.errors import IllegalOperation, InvalidProducerEpoch, KafkaError, ProducerFenced
from faust.types import TP
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.config.settings import KnightwatchSettings
from streams.primitives.zones import ZoneMap
from streams.worker import metrics
from streams.worker.ingest_partition import IngestPartition
from streams.worker.judge_partition import JudgePartition
from streams.worker.kafka_clients import aiokafka_kwargs, ssl_context
from streams.worker.read_committed import ReadCommittedApp
from streams.worker.readiness import ReadinessProbe
from streams.worker.rider_partition import RiderPartition
from streams.worker.serving import ScoreServing
from streams.worker.transactional import TransactionalPartition

log = logging.getLogger(__name__)


def _credentials(settings: KnightwatchSettings) -> Any:
    k = settings.kafka
    context = ssl_context(k)
    if k.sasl_mechanism:
        password = k.sasl_password.get_secret_value() if k.sasl_password else None
        return faust.SASLCredentials(username=k.sasl_username, password=password,
                                     mechanism=k.sasl_mechanism, ssl_context=context)
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def create_app(settings: KnightwatchSettings) -> faust.App:
    k, t = settings.kafka, settings.topics
    zones = (ZoneMap.load(settings.zones_file, settings.detection.zones)
             if settings.zones_file else None)
    datadir = (settings.data_dir / k.group_id).resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    brokers = ";".join(f"kafka://{b.strip()}" for b in k.brokers.split(","))
    app = ReadCommittedApp(
        k.group_id,
        broker=brokers,
        broker_credentials=_credentials(settings),
        key_serializer="raw",
        value_serializer="raw",
        processing_guarantee="at_least_once",  # transactions are ours: see transactional.py
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=False,  # topics are created by ensure_topics with our settings
        topic_disable_leader=True,
        stream_wait_empty=False,  # rider/judge events are never acked: commits are ours
        web_port=settings.web_port,
        web_host="0.0.0.0",
        table_standby_replicas=0,
        producer_acks=-1,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        datadir=str(datadir),
    )
    client_kwargs = aiokafka_kwargs(k)
    serving = ScoreServing(settings.redis_url, t.deltas, settings.redis_key_prefix)
    partitions: dict[tuple[str, int], TransactionalPartition] = {}

    def topic(name: str, n: int) -> faust.TopicT:
        return app.topic(name, partitions=n, internal=False)

    gps = topic(t.gps, k.gps_partitions)
    orders = topic(t.orders, k.partitions)
    weather = topic(t.weather, k.partitions)
    reviews = topic(t.reviews, k.partitions)
    rider_events = topic(t.rider_events, k.gps_partitions)
    area_progress = topic(t.area_progress, k.area_partitions)

    async def ingest(stream: faust.StreamT) -> None:
        await run_stage(stream)

    for source in (gps, orders, weather, reviews):
        app.agent(source, name=f"ingest-{source.get_topic_name()}")(ingest)

    starting: dict[tuple[str, int], asyncio.Future] = {}

    async def partition_for_event(topic: str, p: int) -> TransactionalPartition:
        task = partitions.get((topic, p))
        if task is not None:
            return task
        pending = starting.get((topic, p))
        if pending is not None:  # being started by another coroutine: one owner per partition
            return await pending
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        starting[(topic, p)] = future
        try:
            if topic == t.rider_events:
                task = RiderPartition(settings, zones, p, client_kwargs)
            elif topic == t.area_progress:
                task = JudgePartition(settings, p, client_kwargs)
            else:
                tp = TP(topic, p)

                def highwater(tp: TP = tp) -> int | None:
                    # The last fetch's figure: asking the broker goes through the consumer's
                    # thread and takes a poll interval.
                    try:
                        return app.consumer.highwater(tp)
                    except Exception:  # not fetched yet
                        return None

                async def position(tp: TP = tp) -> int | None:
                    return await app.consumer.position(tp)

                task = IngestPartition(settings, topic, p, client_kwargs, highwater, position)
            await task.start()
            partitions[(topic, p)] = task
            if isinstance(task, RiderPartition) and task.restored_scores:
                serving.hand_over(task.restored_scores)
            future.set_result(task)
            return task
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            starting.pop((topic, p), None)

    def stage_of(topic: str) -> str:
        return {t.rider_events: "riders", t.area_progress: "judges"}.get(topic, "ingest")

    async def checkpoint(task: TransactionalPartition) -> None:
        stage = stage_of(task.source_topic)
        try:
            with metrics.CHECKPOINT_SECONDS.labels(stage).time():
                committed = await task.checkpoint()
        except (ProducerFenced, InvalidProducerEpoch) as exc:
            # Fenced by the partition's new owner, after a rebalance we have not heard of yet:
            # what it held was not committed, and the new owner redoes it.
            log.warning("dropping %s partition %d: %r", stage, task.partition, exc)
            metrics.CHECKPOINT_FAILURES.labels(stage).inc()
            partitions.pop((task.source_topic, task.partition), None)
            await task.stop()
            return
        except (KafkaError, IllegalOperation) as exc:
            # A broken transaction: its outputs, state and offset were not committed, but this
            # process has processed the records and moved its consumer on. Only a restart
            # (the supervisor's) rebuilds every partition from its last commit; carrying on
            # would skip the records the transaction held.
            log.error("%s partition %d could not commit: %r; stopping for a restart",
                      stage, task.partition, exc)
            metrics.CHECKPOINT_FAILURES.labels(stage).inc()
            partitions.pop((task.source_topic, task.partition), None)
            await task.stop()
            await app.crash(exc)
            return
        metrics.CHECKPOINTS.labels(stage).inc()
        _count_outputs(settings, committed)
        if stage == "riders":
            serving.hand_over(committed)  # written by serve_scores, never awaited here

    async def run_stage(stream: faust.StreamT) -> None:
        async for event in stream.noack().events():
            message = event.message
            if message.tp not in app.consumer.assignment():
                continue  # fetched before a rebalance took the partition away
            task = await partition_for_event(message.topic, message.partition)
            if isinstance(task, IngestPartition):
                metrics.RECORDS.labels(message.topic).inc()
            if isinstance(task, IngestPartition):
                task.on_record(message.offset, message.key, message.value,
                               _timestamp_ms(message))
            else:
                task.on_record(message.offset, message.key, message.value)
            if task.due():
                await checkpoint(task)

    @app.agent(rider_events, name="riders")
    async def riders(stream: faust.StreamT) -> None:
        await run_stage(stream)

    @app.agent(area_progress, name="judges")
    async def judges(stream: faust.StreamT) -> None:
        await run_stage(stream)

    @app.timer(interval=max(0.2, k.checkpoint_interval_s / 2))
    async def checkpoint_due() -> None:
        now, wall_ms = time.monotonic(), int(time.time() * 1000)
        due = []
        for task in list(partitions.values()):
            if isinstance(task, RiderPartition) and task.on_idle(now, wall_ms):
                metrics.IDLE_RUN_ONS.inc()
            if task.due():
                due.append(task)
        # Each partition has its own producer and transaction: commit them side by side, so
        # that one partition's commit does not hold back every other partition's outputs.
        await asyncio.gather(*(checkpoint(task) for task in due))

    @app.timer(interval=0.5)
    async def serve_scores() -> None:
        await serving.flush()

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set, **_: Any) -> None:
        # Every input partition reports its progress, even one that never gets a record.
        for tp in sorted(assigned):
            if tp.topic in (t.gps, t.orders, t.weather, t.reviews):
                await partition_for_event(tp.topic, tp.partition)

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set, **_: Any) -> None:
        for tp in revoked:
            task = partitions.pop((tp.topic, tp.partition), None)
            if task is not None:
                await task.stop()

    probe = ReadinessProbe(client_kwargs, serving)

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        # For a load balancer or Kubernetes' readiness probe: 503 while the broker or Redis
        # does not answer, or while this worker holds no partition (joining, rebalancing).
        state = await probe.check(len(app.consumer.assignment()))
        return web.json(state.as_json(), status=200 if state.ready else 503)

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        # aiohttp takes the charset separately from the content type.
        content_type = CONTENT_TYPE_LATEST.split("; charset=")[0]
        return web.bytes(generate_latest(), content_type=content_type)

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "partitions": sorted(
            f"{topic}/{p}" for topic, p in partitions),
            "serving": {"healthy": serving.healthy, "riders_waiting": len(serving.pending)}})

    return app


def _timestamp_ms(message: Any) -> int | None:
    """A Kafka record's timestamp in epoch ms (Faust gives seconds), None when it has none."""
    ts = getattr(message, "timestamp", None)
    return round(ts * 1000) if ts and ts > 0 else None


def _count_outputs(settings: KnightwatchSettings, outputs: list) -> None:
    import orjson

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
