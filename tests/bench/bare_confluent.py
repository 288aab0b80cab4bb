"""The bare consumer with confluent-kafka (librdkafka): the same read as bench_fleet's
kafka-python one, through the client whose fetching is done in C, so the faster of the two
is the rate a Python worker cannot beat."""

import json
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer
from confluent_kafka import TopicPartition as ConfluentPartition
from kafka import TopicPartition

from tests.bench.bench_fleet import check_read_timeout
from tests.integration.fleet import BROKERS


def confluent_read(partitions: list[TopicPartition], total: int) -> tuple[int, int]:
    # librdkafka wants a group id even when nothing is committed; assign() joins no group.
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": "kw-bench-bare-unused",
                         "enable.auto.commit": False, "enable.partition.eof": False})
    try:
        consumer.assign([ConfluentPartition(p.topic, p.partition, OFFSET_BEGINNING)
                         for p in partitions])
        count = undecodable = 0
        started = time.perf_counter()
        while count < total:
            for msg in consumer.consume(num_messages=10_000, timeout=1.0):
                if msg.error():
                    continue
                try:
                    json.loads(msg.value())
                except ValueError:
                    undecodable += 1
                count += 1
            check_read_timeout(started, count, total)
        return count, undecodable
    finally:
        consumer.close()
