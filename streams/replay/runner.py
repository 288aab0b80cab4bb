"""knightwatch replay: records from a file through the detection core, emissions to a file."""

import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO

from schemas import DeadLetter
from streams.config.settings import KnightwatchSettings
from streams.pipeline.processor import KnightwatchCore
from streams.primitives.emissions import Emission
from streams.primitives.zones import ZoneMap
from streams.replay.envelope import (
    LineReader,
    OverlongLine,
    format_emission,
    parse_line,
    too_large_line,
)
from streams.replay.progress import Progress
from streams.scoring.role_models import RiderStanding

# How often (in records) riders who went quiet are processed by the stream's event time.
_ADVANCE_EVERY = 4096


@dataclass
class ReplaySummary:
    records: int = 0
    rejected: int = 0  # dead letters written: malformed, late, clock ahead, order lifecycle
    processed: int = 0  # records that took effect (see CoreStats.processed)
    duplicates: int = 0
    late: int = 0
    outputs: Counter = field(default_factory=Counter)
    alerts_by_kind: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    # Records the core took in: valid, on an input topic. None of many is the sign of a file
    # whose topics are not the configured ones; the CLI warns of it.
    accepted: int = 0
    # Every rider's role-model standing where the input ended (asked for with `standings`).
    standings: list[RiderStanding] = field(default_factory=list)

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        lines = [
            f"records read     {self.records:,}",
            f"processed        {self.processed:,}",
            f"rejected         {self.rejected:,} (dead letters, late records included)",
            f"duplicates       {self.duplicates:,} (dropped)",
            f"late             {self.late:,}",
            f"throughput       {self.records_per_s:,.0f} records/s ({self.seconds:.2f} s)",
            "outputs          " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.outputs.items())),
            "alerts by kind   " + (", ".join(
                f"{k} {v:,}" for k, v in sorted(self.alerts_by_kind.items())) or "none"),
        ]
        return "\n".join(lines)


def replay(source: BinaryIO, sink: BinaryIO, settings: KnightwatchSettings,
           zones: ZoneMap | None = None, total_bytes: int | None = None,
           show_progress: bool = True, advance_every: int = _ADVANCE_EVERY,
           standings: bool = False) -> ReplaySummary:
    """`advance_every`: records between moves of the area clock (riders gone quiet, windows,
    decisions); a worker moves it far more often, which tests may imitate. `standings`: also
    give every rider's role-model standing at the stream's event time where the input ended
    (a rider out of memory is read back for it: a cost for a file of a whole fleet)."""
    core = KnightwatchCore(settings.detection, zones)
    topics = settings.topics
    roles = topics.input_roles()
    summary = ReplaySummary()
    progress = Progress(total_bytes, enabled=show_progress)
    started = time.perf_counter()
    write = sink.write

    def emit(emissions: list[Emission]) -> None:
        for emission in emissions:
            summary.outputs[topics.output(emission.stream)] += 1
            write(format_emission(emission, topics))

    lines = LineReader(source)
    for line in lines:
        if type(line) is OverlongLine:  # only its head was read
            parsed = too_large_line(line, line.size)
        elif not line.strip():
            continue
        else:
            parsed = parse_line(line, roles)
        summary.records += 1
        if isinstance(parsed.value, DeadLetter):
            summary.rejected += 1
            emit([Emission("dead_letters", parsed.value.key, parsed.value)])
        else:
            emit(core.ingest(parsed.value, source_topic=parsed.topic,  # type: ignore[arg-type]
                             arrival_ts=parsed.arrival_ts))
        if summary.records % advance_every == 0:
            emit(core.advance())
            progress.update(lines.bytes_read, summary.records)
    emit(core.close())
    if standings and core.clock.stream_ts is not None:
        summary.standings = core.standings(core.clock.stream_ts)
    progress.finish()
    summary.seconds = time.perf_counter() - started
    summary.duplicates = core.stats.duplicates
    summary.late = core.stats.late
    summary.rejected = summary.outputs[topics.output("dead_letters")]
    summary.processed = core.stats.processed
    summary.alerts_by_kind = core.stats.alerts_by_kind
    summary.accepted = core.stats.events
    return summary


def replay_file(input_path: str, output_path: str | None, settings: KnightwatchSettings,
                zones: ZoneMap | None = None, show_progress: bool = True,
                standings: bool = False) -> ReplaySummary:
    total = os.path.getsize(input_path) if input_path != "-" else None
    source = sys.stdin.buffer if input_path == "-" else open(input_path, "rb")  # noqa: SIM115
    try:
        if output_path is None or output_path == "-":
            return replay(source, sys.stdout.buffer, settings, zones, total, show_progress,
                          standings=standings)
        with open(output_path, "wb") as sink:
            return replay(source, sink, settings, zones, total, show_progress,
                          standings=standings)
    finally:
        if source is not sys.stdin.buffer:
            source.close()
