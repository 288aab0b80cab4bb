"""Runs Knightwatch workers against the local broker, as subprocesses, for integration tests."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from streams.config.settings import KnightwatchSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]
BROKERS = os.environ.get("KNIGHTWATCH_KAFKA__BROKERS", "127.0.0.1:19092")
OUTPUTS = ("alerts", "deltas", "exemptions", "subsidies", "points", "area_risk", "dead_letters")
HEARTBEAT_TS = 4_102_444_800_000  # 2100-01-01: later than any test data


class Fleet:
    """One isolated Knightwatch deployment: its own topic names and consumer group."""

    def __init__(self, workdir: Path, *, partitions: int = 6, area_partitions: int = 2,
                 checkpoint_interval_s: float = 0.5, checkpoint_every: int = 500,
                 idle_after_s: float = 20.0) -> None:
        self.workdir = workdir
        tag = uuid.uuid4().hex[:8]
        self.env = {**os.environ, "KNIGHTWATCH_KAFKA__BROKERS": BROKERS,
                    "KNIGHTWATCH_KAFKA__GROUP_ID": f"kw-test-{tag}",
                    "KNIGHTWATCH_KAFKA__GPS_PARTITIONS": str(partitions),
                    "KNIGHTWATCH_KAFKA__PARTITIONS": str(partitions),
                    "KNIGHTWATCH_KAFKA__AREA_PARTITIONS": str(area_partitions),
                    # Short checkpoints in tests: a kill then lands between many of them.
                    "KNIGHTWATCH_KAFKA__CHECKPOINT_INTERVAL_S": str(checkpoint_interval_s),
                    "KNIGHTWATCH_KAFKA__CHECKPOINT_EVERY": str(checkpoint_every),
                    # Inputs read to the end and quiet this long close everything open, with
                    # no heartbeat; long enough that a slow start or rebalance is not quiet.
                    "KNIGHTWATCH_KAFKA__IDLE_AFTER_S": str(idle_after_s),
                    # The tests feed input many times faster than real time, and kill workers
                    # mid-stream: a silent input must hold event time back soon.
                    "KNIGHTWATCH_KAFKA__CAUGHT_UP_VALID_S": "10",
                    "KNIGHTWATCH_REDIS_KEY_PREFIX": f"kw-test-{tag}:",
                    "KNIGHTWATCH_REDIS_URL": os.environ.get(
                        "KNIGHTWATCH_REDIS_URL", "redis://127.0.0.1:16379/0")}
        defaults = load_settings().topics
        for field in type(defaults).model_fields:
            self.env[f"KNIGHTWATCH_TOPICS__{field.upper()}"] = f"{getattr(defaults, field)}-{tag}"
        self.settings = self._settings()
        self.workers: dict[int, subprocess.Popen] = {}
        self._ports: dict[int, int] = {}  # worker index -> its web port

    def _settings(self) -> KnightwatchSettings:
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            return load_settings()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def create_topics(self) -> None:
        from streams.worker.topics import ensure_topics

        ensure_topics(self.settings)

    def delete_topics(self) -> None:
        """Drop this deployment's topics once it is done with. A broker's every client asks for
        metadata on all topics, so topics left behind by earlier deployments slow the next
        ones (their workers spent most of their CPU decoding metadata); and each partition
        keeps preallocated index files (20 MB, sparse)."""
        from kafka.admin import KafkaAdminClient
        from kafka.errors import KafkaError

        from streams.worker.topics import topic_plan

        admin = KafkaAdminClient(bootstrap_servers=BROKERS)
        try:
            admin.delete_topics(list(topic_plan(self.settings)), timeout_ms=30000,
                                raise_errors=False)
        except KafkaError as exc:  # a leftover topic costs speed, not correctness
            print(f"could not delete a deployment's topics: {exc!r}", file=sys.stderr)
        finally:
            admin.close()

    def web_port(self, index: int) -> int:
        """A port the OS says is free, chosen when the worker is first asked for: ports made
        up from the deployment's tag collided with other deployments' workers."""
        if index not in self._ports:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self._ports[index] = s.getsockname()[1]
        return self._ports[index]

    def start_worker(self, index: int) -> subprocess.Popen:
        env = {**self.env, "KNIGHTWATCH_WEB_PORT": str(self.web_port(index))}
        log = open(self.workdir / f"worker-{index}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "warn"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.workers[index] = proc
        return proc

    def kill(self, index: int, sig: int = signal.SIGKILL) -> None:
        proc = self.workers.pop(index)
        proc.send_signal(sig)
        proc.wait(timeout=60)

    def stop_all(self) -> None:
        for index in list(self.workers):
            proc = self.workers[index]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            del self.workers[index]

    def produce(self, lines: list[bytes], heartbeat: bool = True) -> Counter[str]:
        """Produce replay-format lines to this fleet's topics, in file order; returns how many
        records went to each topic."""
        import orjson

        from streams.replay.envelope import record_value

        topics = self.settings.topics
        mapping = {"rider-gps": topics.gps, "order-events": topics.orders,
                   "weather-events": topics.weather, "rider-alert-reviews": topics.reviews,
                   "rider-point-redemptions": topics.redemptions}
        producer = KafkaProducer(bootstrap_servers=BROKERS, acks="all", linger_ms=5)
        produced: Counter[str] = Counter()
        for line in lines:
            try:
                # Parsed as replay parses it, the value sent as the line spells it: the topic
                # then holds what the file holds, and dead letters can be compared byte for byte.
                record = orjson.loads(line)
                topic = mapping[record["topic"]]
                key = record.get("key")
                payload = record_value(line, record["value"])
                if payload is None:
                    raise ValueError("value nested too deep")
            except (ValueError, KeyError, TypeError):
                topic, key, payload = topics.gps, "malformed", line.rstrip(b"\n")
            producer.send(topic, key=None if key is None else str(key).encode(), value=payload)
            produced[topic] += 1
        if heartbeat:
            self.heartbeat(producer)
            produced[topics.gps] += self.settings.kafka.gps_partitions
        producer.flush()
        producer.close()
        return produced

    def produce_raw(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        producer = KafkaProducer(bootstrap_servers=BROKERS, acks="all")
        for topic, key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()

    def heartbeat(self, producer: KafkaProducer, ts: int = HEARTBEAT_TS) -> None:
        """Move event time far ahead on every partition: everything still open closes."""
        for p in range(self.settings.kafka.gps_partitions):
            rider = f"__heartbeat__{p}"
            value = json.dumps({"rider_id": rider, "ts": ts, "lat": 0, "lon": 0}).encode()
            producer.send(self.settings.topics.gps, key=rider.encode(), value=value, partition=p)

    def served_scores(self, riders) -> dict[str, int]:
        import redis

        from streams.serving.layout import KeyLayout

        keys = KeyLayout(self.settings.redis_key_prefix)
        client = redis.Redis.from_url(self.settings.redis_url)
        try:
            out = {}
            for rider in riders:
                value = client.hget(keys.rider(rider), "score")
                if value is not None:
                    out[rider] = int(value)
            return out
        finally:
            client.close()

    def collect(self, *, settle_s: float = 20.0, timeout_s: float = 300.0,
                min_records: int = 1) -> list[dict]:
        """Committed output records; returns once nothing new arrived for `settle_s`."""
        topics = [self.settings.topics.output(s) for s in OUTPUTS]
        reverse = {self.settings.topics.output(s): s for s in OUTPUTS}
        consumer = KafkaConsumer(*topics, bootstrap_servers=BROKERS,
                                 isolation_level="read_committed",
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 group_id=None, consumer_timeout_ms=1000)
        records: list[dict] = []
        started = last_new = time.monotonic()
        try:
            while time.monotonic() - started < timeout_s:
                got = 0
                for msg in consumer:
                    records.append({"stream": reverse[msg.topic],
                                    "key": None if msg.key is None else msg.key.decode(),
                                    "value": json.loads(msg.value)})
                    got += 1
                if got:
                    last_new = time.monotonic()
                elif len(records) >= min_records and time.monotonic() - last_new > settle_s:
                    break
                for proc in self.workers.values():
                    if proc.poll() is not None:
                        raise RuntimeError(f"a worker exited with {proc.returncode}; "
                                           f"see {self.workdir}")
        finally:
            consumer.close()
        return records
