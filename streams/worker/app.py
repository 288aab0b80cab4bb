"""The Faust app: ingest agents validate and route the inputs not keyed by rider to the rider
partitions; rider agents run the detection core per partition over GPS fixes read directly and
the routed events; judge agents decide congestion per cell group.

    orders, weather, reviews --ingest--> knightwatch-rider-events (by rider; weather to all)
    rider-profiles --profiles--> the serving layer (Redis) only
    rider-gps + rider-events --riders--> alerts, deltas, exemptions, subsidies, dead letters
        and --> knightwatch-area-progress (by cell) --judges--> area-risk, congestion alerts
            and judgements back to every rider partition
"""

import logging
from typing import Any

import faust
from mode import CrashingSupervisor

from streams.api.routes import RiderApi
from streams.config.settings import KnightwatchSettings
from streams.primitives.zones import ZoneMap
from streams.worker import metrics
from streams.worker.batch_consumer import BatchConsumingApp
from streams.worker.client_loop import ClientThread
from streams.worker.gauges import WorkerGauges
from streams.worker.kafka_clients import aiokafka_kwargs, ssl_context
from streams.worker.owners import PartitionOwners
from streams.worker.readiness import ReadinessProbe
from streams.worker.serving import ServingWriter
from streams.worker.web import add_pages


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


class _HeadlessWorker(faust.Worker):
    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # Faust's terminal spinner sets the root logger to DEBUG so that it turns on every log
        # record: every debug call of aiokafka's producer then built a record only to drop it,
        # a tenth of a busy worker's CPU. A worker runs headless: no spinner.
        self.spinner = None


def _faust_app(settings: KnightwatchSettings) -> faust.App:
    k = settings.kafka
    datadir = (settings.data_dir / k.group_id).resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    brokers = ";".join(f"kafka://{b.strip()}" for b in k.brokers.split(","))
    return BatchConsumingApp(
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
        Worker=_HeadlessWorker,
    )


def create_app(settings: KnightwatchSettings) -> faust.App:
    """The worker: agents for every consumed topic, each handing its records to the partition's
    owner (owners.py); timers for checkpoints and the serving layer; the HTTP pages."""
    k, t = settings.kafka, settings.topics
    zones = (ZoneMap.load(settings.zones_file, settings.detection.zones)
             if settings.zones_file else None)
    app = _faust_app(settings)
    client_kwargs = aiokafka_kwargs(k)
    serving = ServingWriter(settings)
    clients = ClientThread()
    owners = PartitionOwners(app, settings, zones, client_kwargs, serving, clients)

    app.batch_handler = owners.on_batch

    async def stage(stream: faust.StreamT) -> None:
        # The agents subscribe the worker to its topics and take part in assignment; records
        # go by batch to the owners (batch_consumer.py), never through a stream.
        async for event in stream.noack().events():
            raise RuntimeError(f"record of {event.message.tp} reached a stream; "
                               "the batch consumer should have taken it")

    consumed = {t.orders: k.partitions, t.weather: k.partitions, t.reviews: k.partitions,
                t.redemptions: k.partitions}
    agents = {f"ingest-{name}": (name, n) for name, n in consumed.items()}
    # GPS is read where it is processed: rider partition p consumes rider-gps p and
    # rider-events p, which Faust assigns together (equal partition counts, same workers).
    agents["riders-gps"] = (t.gps, k.gps_partitions)
    agents["riders"] = (t.rider_events, k.gps_partitions)
    agents["judges"] = (t.area_progress, k.area_partitions)
    agents["profiles"] = (t.profiles, k.partitions)  # for the serving layer only
    for agent, (name, partitions) in agents.items():
        # An agent that fails stops the worker: Faust would otherwise restart it on the same
        # stream past the record in hand, and a partition would commit an offset beyond it.
        app.agent(app.topic(name, partitions=partitions, internal=False), name=agent,
                  supervisor_strategy=CrashingSupervisor)(stage)

    @app.timer(interval=max(0.2, k.checkpoint_interval_s / 2))
    async def checkpoint_due() -> None:
        await owners.checkpoint_due()

    @app.timer(interval=0.5)
    async def serve_scores() -> None:
        await serving.flush()

    gauges = WorkerGauges()
    for topic in t.input_roles():
        # From zero at start: the first records read are then an increase for rate().
        metrics.RECORDS_CONSUMED.labels(topic)

    @app.timer(interval=1.0)
    async def observe_gauges() -> None:
        consumer = app.consumer

        def highwater(tp: Any) -> int | None:
            try:
                return consumer.highwater(tp)
            except Exception:  # not fetched yet, or no longer assigned
                return None

        gauges.observe(consumer.assignment(), highwater, consumer._read_offset.get,
                       owners.partitions.values())

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set, **_: Any) -> None:
        await owners.on_assigned(assigned)

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set, **_: Any) -> None:
        await owners.on_revoked(revoked)

    add_pages(app, owners, serving, ReadinessProbe(client_kwargs, serving))

    async def send_review(key: bytes, value: bytes) -> None:
        await app.producer.send_and_wait(t.reviews, key, value, partition=None,
                                         timestamp=None, headers=None)

    api = RiderApi(serving.store, settings.serving, settings.api_token, t.reviews, send_review)
    app.web_routes = api.add_routes
    return app
