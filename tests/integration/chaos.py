"""Chaos for the fleet tests: input fed over time in the background, and the local broker and
Redis paused by their recorded pids."""

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen

from kafka import KafkaProducer

from tests.integration.fleet import BROKERS, ROOT, Fleet
from tests.unit.pipeline.test_arrival_order_properties import _envelope, scenario

RUN_DIR = Path(os.environ.get("KNIGHTWATCH_RUN_DIR", ROOT / ".run"))


def parallel_city_lines(copies: int, *, stagger_ms: int = 10_000,
                        lead_ms: int = 600_000) -> list[bytes]:
    """`copies` of the test city in the same half hour, each with its own riders and orders
    (copy c starts c * `stagger_ms` later), in arrival order: by event time, except that
    order and weather events arrive `lead_ms` (event time) before the fixes of their time.

    Input fed at many times real time turns seconds of skew between the input topics (an
    input partition's owner killed, a paused broker's backlog) into minutes of event time; a
    rider partition lets its clock pass an input that said it was caught up, so order events
    that reach it behind fixes more than the allowed lateness newer are late. Sent ahead of
    the fixes, they stay on time through such skews."""
    events = scenario()
    keyed = []
    for c in range(copies):
        for n, event in enumerate(events):
            update: dict = {"ts": event.ts + c * stagger_ms}
            for field in ("rider_id", "order_id"):
                if getattr(event, field, None):
                    update[field] = f"{getattr(event, field)}-c{c}"
            for field in ("promised_ts", "valid_until"):
                if getattr(event, field, None):
                    update[field] = getattr(event, field) + c * stagger_ms
            fix = type(event).__name__ == "GpsPing"
            arrival = update["ts"] - (0 if fix else lead_ms)
            keyed.append((arrival, c, n, _envelope(event.model_copy(update=update))))
    return [line for *_, line in sorted(keyed)]


def service_pid(pidfile: Path, cmdline_part: str) -> int | None:
    """The pid recorded by deploy/local/*.sh, if that process is alive and is the server
    (a pid file can outlive its process and the number be reused)."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if cmdline_part.encode() in cmdline else None


def kafka_pid() -> int | None:
    return service_pid(RUN_DIR / "kafka" / "kafka.pid", "kafka.Kafka")


def redis_pid() -> int | None:
    return service_pid(RUN_DIR / "redis" / "redis.pid", "redis-server")


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process is stopped (SIGSTOP) inside the block and always resumed after it."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def sleep_until(deadline: float) -> None:
    """Sleep until time.monotonic() reaches `deadline` (at once if it has)."""
    time.sleep(max(0.0, deadline - time.monotonic()))


def rider_partitions(fleet: Fleet, index: int) -> list[str]:
    """The rider partitions worker `index` says (on /health) it is running; [] if it cannot
    tell yet."""
    try:
        with urlopen(f"http://127.0.0.1:{fleet.web_port(index)}/health", timeout=2) as r:
            health = json.loads(r.read())
    except (OSError, ValueError):
        return []
    prefix = fleet.settings.topics.rider_events + "/"
    return [p for p in health["partitions"] if p.startswith(prefix)]


def wait_for_rider_work(fleet: Fleet, index: int, timeout_s: float) -> bool:
    """Wait until worker `index` runs a rider partition; False when it did not in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if rider_partitions(fleet, index):
            return True
        time.sleep(0.2)
    return False


class _Counting:
    """A producer whose sends are kept, so that what each partition received can be told."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer
        self.futures: list = []

    def send(self, topic: str, **kwargs):
        future = self.producer.send(topic, **kwargs)
        self.futures.append(future)
        return future


class PacedFeed(threading.Thread):
    """Produces replay-format lines to a fleet's input topics in `chunks` equal chunks spread
    evenly over `duration_s`, in file order, then a heartbeat (`Fleet.heartbeat`). The last
    chunk waits for `release` as well, so that whatever the test does before releasing it
    happens mid-stream however slow the machine. Afterwards `produced` holds how many records
    each input partition (topic, partition) received."""

    def __init__(self, fleet: Fleet, lines: list[bytes], *, duration_s: float,
                 chunks: int) -> None:
        super().__init__(name="paced-feed", daemon=True)
        self.fleet = fleet
        size = -(-len(lines) // chunks)
        self.chunks = [lines[i:i + size] for i in range(0, len(lines), size)]
        self.interval_s = duration_s / max(1, len(self.chunks) - 1)
        self.produced: Counter[tuple[str, int]] = Counter()
        self.chunks_sent = 0
        self.release = threading.Event()
        self.finished = threading.Event()  # everything sent, acknowledged and counted
        self.error: BaseException | None = None

    def mid_stream(self) -> bool:
        """Is part of the input still to be sent?"""
        return self.chunks_sent < len(self.chunks)

    def run(self) -> None:
        topics = self.fleet.settings.topics
        mapping = {"rider-gps": topics.gps, "order-events": topics.orders,
                   "weather-events": topics.weather, "rider-alert-reviews": topics.reviews,
                   "rider-point-redemptions": topics.redemptions}
        producer = KafkaProducer(bootstrap_servers=BROKERS, acks="all", linger_ms=5)
        counting = _Counting(producer)
        try:
            started = time.monotonic()
            for n, chunk in enumerate(self.chunks):
                sleep_until(started + n * self.interval_s)
                if n == len(self.chunks) - 1:
                    self.release.wait()
                for line in chunk:
                    record = json.loads(line)
                    value = record["value"]
                    counting.send(mapping[record["topic"]], key=str(record["key"]).encode(),
                                  value=json.dumps(value).encode())
                self.chunks_sent = n + 1
            self.fleet.heartbeat(counting)  # type: ignore[arg-type]
            producer.flush(timeout=120)
            for future in counting.futures:
                metadata = future.get(timeout=120)
                self.produced[(metadata.topic, metadata.partition)] += 1
            self.finished.set()
        except BaseException as exc:  # reported by the test, which joins the thread
            self.error = exc
        finally:
            producer.close(timeout=10)
