"""`knightwatch simulate --brokers`: the simulated records reach Kafka, keyed, paced."""

import time
import uuid
from collections import Counter

import orjson
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic

from streams.simulate.files import simulate
from streams.simulate.kafka_sink import produce
from tests.integration.fleet import BROKERS

TOPICS = ("rider-gps", "order-events", "weather-events", "rider-point-redemptions")


def test_simulated_records_are_produced_in_full_at_the_target_rate():
    prefix = f"sim-{uuid.uuid4().hex[:8]}-"
    admin = KafkaAdminClient(bootstrap_servers=BROKERS)
    admin.create_topics([NewTopic(prefix + t, 1, 1) for t in TOPICS])
    try:
        records = simulate(seed=3, riders=4, minutes=10).records
        started = time.monotonic()
        sent = produce(records, BROKERS, rate=2000, show_progress=False, topic_prefix=prefix)
        took = time.monotonic() - started
        assert sent == len(records)
        assert took >= (len(records) - 1) / 2000  # paced, not a burst
        consumer = KafkaConsumer(*(prefix + t for t in TOPICS), bootstrap_servers=BROKERS,
                                 auto_offset_reset="earliest", consumer_timeout_ms=5000)
        got = [(m.topic.removeprefix(prefix), m.key.decode(), orjson.loads(m.value))
               for m in consumer]
        consumer.close()
        assert Counter(t for t, _, _ in got) == Counter(r["topic"] for r in records)
        gps = [v for t, k, v in got if t == "rider-gps"]
        assert gps == [r["value"] for r in records if r["topic"] == "rider-gps"]
    finally:
        admin.delete_topics([prefix + t for t in TOPICS])
        admin.close()
