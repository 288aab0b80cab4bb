"""Runs a peer (the speeding rule in another stream library, tests/bench/peers) as a
subprocess on a deployment's pre-loaded rider-gps topic and measures it as bench_fleet
measures the worker's input: the group's committed input offsets, sampled every SAMPLE_S,
from the first sample with an offset committed to the one where all are committed or
`window_s` has passed, whichever is first."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from tests.bench.bench_fleet import (
    ROOT,
    SAMPLE_S,
    committed_input,
    cpu_seconds,
    end_offsets,
    input_partitions,
    progress,
)
from tests.integration.fleet import BROKERS, Fleet

START_TIMEOUT_S = 180  # process start to its first committed offset


@dataclass
class PeerResult:
    name: str
    guarantee: str
    records: int = 0  # input records committed in the window
    seconds: float = 0.0
    first_commit_s: float | None = None  # since the process started
    ended_by: str = ""
    cpu_seconds: float | None = None  # the peer's CPU over the window
    alerts: int | None = None  # committed to its output topic by the time it was stopped
    error: str | None = None

    @property
    def rate(self) -> float | None:
        return self.records / self.seconds if self.seconds and not self.error else None

    def to_json(self) -> dict:
        rate = self.rate
        cpu = (None if self.cpu_seconds is None or not self.records
               else round(self.cpu_seconds / self.records * 100_000, 2))
        return {**asdict(self), "seconds": round(self.seconds, 2),
                "records_per_s": None if rate is None else round(rate),
                "cpu_s_per_100k_records": cpu}


@dataclass
class Peer:
    name: str
    guarantee: str
    command: list[str]
    env: dict[str, str]
    group: str  # also in the name of every topic the peer creates
    output: str


def quix_peer(fleet: Fleet, workdir: Path, commit_interval_s: float) -> Peer:
    group = f"kw-peer-quix-{fleet.settings.kafka.group_id}"
    output = f"{group}-alerts"
    command = [sys.executable, "-m", "tests.bench.peers.quix_app", "--brokers", BROKERS,
               "--input", fleet.settings.topics.gps, "--output", output, "--group", group,
               "--state-dir", str(workdir / "quix-state"),
               "--commit-interval", str(commit_interval_s)]
    return Peer("Quix Streams", "exactly-once", command, dict(os.environ), group, output)


def faust_peer(fleet: Fleet, workdir: Path, commit_interval_s: float) -> Peer:
    group = f"kw-peer-faust-{fleet.settings.kafka.group_id}"
    output = f"{group}-alerts"
    env = {**os.environ, "KW_PEER_BROKERS": BROKERS, "KW_PEER_INPUT": fleet.settings.topics.gps,
           "KW_PEER_OUTPUT": output, "KW_PEER_GROUP": group,
           "KW_PEER_PARTITIONS": str(fleet.settings.kafka.gps_partitions),
           "KW_PEER_DATADIR": str(workdir / "faust-data"),
           "KW_PEER_COMMIT_INTERVAL": str(commit_interval_s)}
    command = [sys.executable, "-m", "tests.bench.peers.faust_app"]
    return Peer("faust-streaming agent", "at-least-once (Faust's default)", command, env,
                group, output)


def run_peer(fleet: Fleet, peer: Peer, window_s: float) -> PeerResult:
    """Starts the peer, measures it, stops it and deletes the topics it created; a peer that
    fails is reported with its log's end, not raised: the other figures still stand."""
    result = PeerResult(peer.name, peer.guarantee)
    partitions = input_partitions(fleet, gps_only=True)
    total = sum(end_offsets(partitions).values())
    admin = KafkaAdminClient(bootstrap_servers=BROKERS)
    log_path = fleet.workdir / f"peer-{peer.group}.log"
    proc = None
    try:
        admin.create_topics([NewTopic(peer.output, fleet.settings.kafka.gps_partitions, 1)])
        progress(f"peer: {peer.name} ({peer.guarantee}) started")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(peer.command, cwd=ROOT, env=peer.env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        sample_until_done(admin, proc, peer.group, partitions, total, window_s, result)
    except RuntimeError as exc:
        result.error = f"{exc}; its log ends: {tail(log_path)}"
    finally:
        if proc is not None:
            stop(proc)
        result.alerts = count_committed(peer.output)
        delete_peer_topics(admin, peer.group)
        admin.close()
    progress(f"peer: {peer.name}: " + (result.error or f"{result.rate:,.0f} records/s"))
    return result


def sample_until_done(admin: KafkaAdminClient, proc: subprocess.Popen, group: str,
                      partitions: list, total: int, window_s: float, r: PeerResult) -> None:
    started = time.monotonic()
    first: tuple[float, int, float | None] | None = None  # at, committed, cpu
    while True:
        time.sleep(SAMPLE_S)
        if proc.poll() is not None:
            raise RuntimeError(f"{r.name} exited ({proc.returncode})")
        committed = committed_input(admin, group, partitions)
        at, cpu = time.monotonic() - started, cpu_seconds([proc.pid])
        if first is None:
            if committed:
                first = (at, committed, cpu)
                r.first_commit_s = round(at, 2)
            elif at > START_TIMEOUT_S:
                raise RuntimeError(f"{r.name} committed nothing in {START_TIMEOUT_S} s")
            continue
        done = committed == total
        if committed is None or not (done or at - first[0] >= window_s):
            continue
        r.records, r.seconds = committed - first[1], at - first[0]
        r.ended_by = "all input committed" if done else f"the {window_s:g} s window"
        r.cpu_seconds = None if cpu is None or first[2] is None else cpu - first[2]
        return


def count_committed(topic: str) -> int:
    consumer = KafkaConsumer(topic, bootstrap_servers=BROKERS, group_id=None,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             consumer_timeout_ms=3000)
    try:
        return sum(1 for _ in consumer)
    finally:
        consumer.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def delete_peer_topics(admin: KafkaAdminClient, group: str) -> None:
    """The peer's output and every topic its library created (changelogs, Faust's assignor
    topic): all, and only, the topics whose names hold the peer's unique group."""
    try:
        mine = [t for t in admin.list_topics() if group in t]
        if mine:
            admin.delete_topics(mine, timeout_ms=30000, raise_errors=False)
    except KafkaError as exc:
        print(f"could not delete {group}'s topics: {exc!r}", file=sys.stderr)


def tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"
