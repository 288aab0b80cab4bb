"""Smoke tests for the local Kafka broker and Redis that Knightwatch runs against.

These talk to already-running services (``make up``, or the docker-compose stack
in ``deploy/``) and deliberately *fail* rather than skip when they are not
reachable: a silently skipped integration suite looks exactly like a green one.

Endpoints come from the same variables the worker reads:

* ``KNIGHTWATCH_KAFKA_BROKERS`` (default ``127.0.0.1:19092``)
* ``KNIGHTWATCH_REDIS_URL`` (default ``redis://127.0.0.1:16379/0``)
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterator

import kafka
import pytest
import redis
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

KAFKA_BROKERS = os.environ.get("KNIGHTWATCH_KAFKA_BROKERS", "127.0.0.1:19092")
REDIS_URL = os.environ.get("KNIGHTWATCH_REDIS_URL", "redis://127.0.0.1:16379/0")
BOOTSTRAP = [b.strip() for b in KAFKA_BROKERS.split(",") if b.strip()]

# kafka-python 3.x takes a dict for create_topics (NewTopic is deprecated);
# 2.x only understands NewTopic. Transactions arrived in 2.1.
_KAFKA_MAJOR = int(kafka.__version__.split(".")[0])
HAS_TRANSACTIONS = hasattr(KafkaProducer, "init_transactions")

# Generous enough for a cold broker on a 2-core machine creating
# __consumer_offsets / __transaction_state on first use.
READ_TIMEOUT_S = 60.0


def _unique_topic(prefix: str) -> str:
    return f"knightwatch-it-{prefix}-{uuid.uuid4().hex[:12]}"


def _tcp_reachable(host_port: str, timeout: float = 3.0) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def admin() -> Iterator[KafkaAdminClient]:
    if not any(_tcp_reachable(b) for b in BOOTSTRAP):
        pytest.fail(
            f"Kafka is not reachable at {KAFKA_BROKERS}; start it with `make up` "
            "(or `bash deploy/local/kafka.sh up`)",
            pytrace=False,
        )
    client = KafkaAdminClient(
        bootstrap_servers=BOOTSTRAP,
        client_id="knightwatch-it-admin",
        request_timeout_ms=30_000,
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture()
def topic(admin: KafkaAdminClient, request: pytest.FixtureRequest) -> Iterator[str]:
    name = _unique_topic(request.node.name.removeprefix("test_").replace("_", "-")[:40])
    _create_topic(admin, name)
    try:
        yield name
    finally:
        # Best effort: a leftover topic on a throw-away broker is harmless.
        with contextlib.suppress(Exception):
            admin.delete_topics([name])


def _create_topic(admin: KafkaAdminClient, name: str, partitions: int = 1) -> None:
    if _KAFKA_MAJOR >= 3:
        admin.create_topics(
            {name: {"num_partitions": partitions, "replication_factor": 1}},
            wait_for_metadata=True,
        )
        return
    from kafka.admin import NewTopic

    admin.create_topics([NewTopic(name, partitions, 1)])
    deadline = time.monotonic() + 30
    while name not in admin.list_topics():
        if time.monotonic() > deadline:
            raise AssertionError(f"topic {name} never appeared in metadata")
        time.sleep(0.2)


def _read_values(topic: str, expected: int, **consumer_config) -> list[bytes]:
    """Read ``expected`` records from partition 0 of ``topic`` from the start.

    Manual assignment avoids a consumer-group rebalance, so this measures the
    broker, not the group protocol (that has its own test).
    """
    consumer = KafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        enable_auto_commit=False,
        client_id="knightwatch-it-reader",
        **consumer_config,
    )
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values: list[bytes] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records)
        return values
    finally:
        consumer.close()


@pytest.mark.integration
def test_kafka_broker_lists_topics(admin: KafkaAdminClient, topic: str) -> None:
    assert topic in admin.list_topics()


@pytest.mark.integration
def test_kafka_produce_and_consume_roundtrip(topic: str) -> None:
    sent = [f"ride-event-{i}".encode() for i in range(3)]
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", client_id="knightwatch-it")
    try:
        for i, value in enumerate(sent):
            producer.send(topic, key=f"rider-{i}".encode(), value=value).get(timeout=30)
        producer.flush(timeout=30)
    finally:
        producer.close()

    assert _read_values(topic, expected=3, auto_offset_reset="earliest") == sent


@pytest.mark.integration
def test_kafka_consumer_group_commits_offsets(topic: str) -> None:
    """Faust workers are a consumer group; this exercises __consumer_offsets."""
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    try:
        for i in range(3):
            producer.send(topic, value=f"g-{i}".encode())
        producer.flush(timeout=30)
    finally:
        producer.close()

    group = f"knightwatch-it-group-{uuid.uuid4().hex[:8]}"
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        seen: list[bytes] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while len(seen) < 3 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                seen.extend(r.value for r in records)
        assert seen == [b"g-0", b"g-1", b"g-2"]
        consumer.commit()
        assert consumer.committed(TopicPartition(topic, 0)) == 3
    finally:
        consumer.close()


@pytest.mark.integration
@pytest.mark.skipif(
    not HAS_TRANSACTIONS,
    reason=f"kafka-python {kafka.__version__} has no transactional producer (needs >= 2.1)",
)
def test_kafka_transactions_commit_and_abort(topic: str) -> None:
    """Exactly-once processing needs __transaction_state to work on one broker.

    An aborted batch must stay invisible to a read_committed consumer while
    the committed one is delivered.
    """
    producer = KafkaProducer(
        bootstrap_servers=BOOTSTRAP,
        transactional_id=f"knightwatch-it-tx-{uuid.uuid4().hex[:8]}",
        enable_idempotence=True,
        acks="all",
    )
    try:
        producer.init_transactions()

        producer.begin_transaction()
        for i in range(3):
            producer.send(topic, value=f"committed-{i}".encode())
        producer.commit_transaction()

        producer.begin_transaction()
        producer.send(topic, value=b"aborted")
        producer.flush(timeout=30)
        producer.abort_transaction()

        producer.begin_transaction()
        producer.send(topic, value=b"committed-last")
        producer.commit_transaction()
    finally:
        producer.close()

    committed = _read_values(
        topic,
        expected=4,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    assert committed == [b"committed-0", b"committed-1", b"committed-2", b"committed-last"]


@pytest.mark.integration
def test_redis_set_get() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
    try:
        error: Exception | None = None
        try:
            client.ping()
        except redis.exceptions.ConnectionError as exc:
            error = exc
        if error is not None:
            pytest.fail(
                f"Redis is not reachable at {REDIS_URL} ({error}); start it with `make up` "
                "(or `bash deploy/local/redis.sh up`)",
                pytrace=False,
            )
        key = f"knightwatch:it:{uuid.uuid4().hex}"
        assert client.set(key, "rider-42", ex=60)
        assert client.get(key) == b"rider-42"
        assert client.delete(key) == 1
        assert client.get(key) is None
    finally:
        client.close()
