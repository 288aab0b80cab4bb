"""Simulated records straight to Kafka, paced at a target rate, with a progress bar."""

import time
from collections.abc import Callable, Iterable

import orjson

from streams.replay.progress import Progress


def produce(records: Iterable[dict], brokers: str, rate: float, total: int | None = None,
            duration_s: float | None = None, topic_prefix: str = "",
            show_progress: bool = True, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> int:
    """Send records in arrival order at `rate` a second until done or `duration_s` has passed;
    the number sent. Keys keep a rider's records on one partition, in order."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=brokers, acks="all", linger_ms=20)
    progress = Progress(total, enabled=show_progress)
    sent = 0
    started = clock()
    try:
        for record in records:
            now = clock()
            if duration_s is not None and now - started >= duration_s:
                break
            due = started + sent / rate
            if due > now:
                sleep(due - now)
            producer.send(topic_prefix + record["topic"], key=str(record["key"]).encode(),
                          value=orjson.dumps(record["value"]))
            sent += 1
            progress.update(sent, sent)
        producer.flush()
    finally:
        producer.close()
        progress.finish()
    return sent
