"""The side-by-side figures of `make bench` as ratios, targets and markdown tables: pure
functions of the measured figures, so what the tables say is tested without a broker."""

from dataclasses import dataclass

# Issue 11's targets, reported as met or not, never asserted.
WORKER_OVER_BARE = 0.5  # the worker at least half the bare consumer's rate
P99_AT_HALF_LOAD_MS = 250
BYTES_PER_ACTIVE_RIDER = 1024

# Every figure the run measured, by name; a part not run leaves its figures out.
Figures = dict[str, float | None]


@dataclass(frozen=True)
class Target:
    name: str
    measured: float | None
    wanted: str
    met: bool | None  # None: the figure was not measured
    digits: int = 2

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else "NOT met"


def ratio(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else top / bottom


def ratios(f: Figures) -> dict[str, float | None]:
    """The worker against the limit (its sustained rate per worker over each bare consumer)
    and against the peers (committed input offsets over time for all three: the one measure
    they share)."""
    per_worker = f.get("worker_1_sustained")
    worker_input = f.get("worker_1_committed_input")
    return {
        "worker / bare kafka-python": ratio(per_worker, f.get("bare_kafka_python")),
        "worker / bare confluent-kafka": ratio(per_worker, f.get("bare_confluent")),
        "worker / Quix Streams": ratio(worker_input, f.get("peer_quix")),
        "worker / faust agent": ratio(worker_input, f.get("peer_faust")),
        "2 workers / 1 worker": ratio(f.get("worker_2_sustained"), per_worker),
    }


def _at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def _under(value: float | None, ceiling: float) -> bool | None:
    return None if value is None else value < ceiling


def targets(f: Figures) -> list[Target]:
    r = ratios(f)
    # The limit is the faster bare consumer: no Python worker beats either.
    bare = [v for v in (f.get("bare_kafka_python"), f.get("bare_confluent")) if v]
    over_bare = ratio(f.get("worker_1_sustained"), max(bare)) if bare else None
    per_rider = f.get("bytes_per_active_rider")
    return [
        Target("worker / faster bare consumer", over_bare, f">= {WORKER_OVER_BARE}",
               _at_least(over_bare, WORKER_OVER_BARE)),
        Target("worker ahead of Quix Streams", r["worker / Quix Streams"], "> 1",
               None if r["worker / Quix Streams"] is None else r["worker / Quix Streams"] > 1),
        Target("worker ahead of the faust agent", r["worker / faust agent"], "> 1",
               None if r["worker / faust agent"] is None else r["worker / faust agent"] > 1),
        Target("alert p99 at 50% load (ms)", f.get("latency_50_p99"),
               f"< {P99_AT_HALF_LOAD_MS}", _under(f.get("latency_50_p99"), P99_AT_HALF_LOAD_MS),
               0),
        Target("bytes per active rider", per_rider, f"<= {BYTES_PER_ACTIVE_RIDER}",
               None if per_rider is None else per_rider <= BYTES_PER_ACTIVE_RIDER, 0),
    ]


def number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


# (figure key, label, unit, digits, what it measures)
ROWS = [
    ("core_replay_per_core", "Core: replay", "records/s per core", 0,
     "whole replay (parse + core + write) by CPU time, one process"),
    ("bytes_per_active_rider", "Core: state per active rider", "bytes", 0,
     "tracemalloc, reorder buffers full"),
    ("quiet_bytes_per_rider", "Core: left per rider once quiet", "bytes", 0,
     "event time well past every rider's last fix"),
    ("bare_kafka_python", "Bare consumer, kafka-python", "records/s", 0,
     "read + json.loads only"),
    ("bare_confluent", "Bare consumer, confluent-kafka", "records/s", 0,
     "read + json.loads only"),
    ("worker_1_sustained", "Knightwatch, 1 worker", "records/s", 0,
     "sustained: input to every output committed, exactly-once"),
    ("worker_2_sustained", "Knightwatch, 2 workers", "records/s", 0,
     "sustained, both workers together"),
    ("worker_1_committed_input", "Knightwatch, 1 worker, input offsets", "records/s", 0,
     "committed input offsets over time"),
    ("peer_quix", "Quix Streams speeding rule", "records/s", 0,
     "committed input offsets over time, exactly-once"),
    ("peer_faust", "faust agent speeding rule", "records/s", 0,
     "committed input offsets over time, table write per event"),
    ("latency_50_p50", "Alert latency p50 at 50% load", "ms", 0, "fix ack to committed alert"),
    ("latency_50_p99", "Alert latency p99 at 50% load", "ms", 0, "fix ack to committed alert"),
    ("latency_80_p50", "Alert latency p50 at 80% load", "ms", 0, "fix ack to committed alert"),
    ("latency_80_p99", "Alert latency p99 at 80% load", "ms", 0, "fix ack to committed alert"),
]


def markdown(f: Figures) -> str:
    lines = ["| Figure | Value | Unit | Measured as |", "|---|---:|---|---|"]
    lines += [f"| {label} | {number(f.get(key), digits)} | {unit} | {what} |"
              for key, label, unit, digits, what in ROWS if key in f]
    lines += ["", "| Ratio | Value |", "|---|---:|"]
    lines += [f"| {name} | {number(value, 2)} |" for name, value in ratios(f).items()]
    lines += ["", "| Target | Measured | Wanted | Verdict |", "|---|---:|---|---|"]
    lines += [f"| {t.name} | {number(t.measured, t.digits)} | {t.wanted} | {t.verdict} |"
              for t in targets(f)]
    return "\n".join(lines) + "\n"
