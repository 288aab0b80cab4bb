"""A partition's earliest offset is read on the Kafka client thread through a consumer of its
own, from a real broker: past records that retention (here, a delete) has removed."""

import asyncio
import time

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.structs import TopicPartition

from streams.worker.client_loop import ClientThread
from streams.worker.input_position import OffsetReader
from tests.integration.fleet import BROKERS

pytestmark = pytest.mark.integration


@pytest.fixture
def topic():
    name = f"offset-reader-{time.time_ns()}"
    admin = KafkaAdminClient(bootstrap_servers=BROKERS)
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    try:
        yield admin, name
    finally:
        admin.delete_topics([name])
        admin.close()


def test_the_earliest_offset_is_the_first_record_left_and_zero_for_an_empty_partition(topic):
    admin, name = topic
    producer = KafkaProducer(bootstrap_servers=BROKERS, acks="all")
    for i in range(10):
        producer.send(name, value=b"%d" % i, partition=0)
    producer.flush()
    producer.close()
    admin.delete_records({TopicPartition(name, 0): 4})

    clients = ClientThread()
    reader = OffsetReader({"bootstrap_servers": BROKERS})

    async def ask() -> list[int | None]:
        # Questions asked together share the one reader, started once.
        return list(await asyncio.gather(
            clients.run(reader.earliest(name, 0)), clients.run(reader.earliest(name, 1)),
            clients.run(reader.earliest(name, 0))))

    try:
        assert asyncio.run(ask()) == [4, 0, 4]
        asyncio.run(clients.run(reader.stop()))
    finally:
        clients.close()
