"""The congestion judge of a fleet: cell windows are judged from every source's share once every
source has moved past them.

In one process (replay) the core judges its own windows. In a fleet each worker partition sees
only its riders, so it hands each finished window's share to the judge that owns the cell, with
its progress in event time; a judge decides a window when the slowest source has passed it.
"""

from dataclasses import dataclass, field
from typing import Any, Self

from schemas import AreaRiskChange, RiderAlert
from streams.area.congestion import CongestedWindow, CongestionMap, PartialWindow
from streams.config.thresholds import Congestion
from streams.primitives.snapshot import Migration, Snapshot, SnapshotError, fields, versioned

KIND = "area.judge"
VERSION = 1
MIGRATIONS: dict[int, Migration] = {}


@dataclass(frozen=True, slots=True)
class AreaProgress:
    """From a rider partition: its shares of finished windows, and how far it has got."""

    source: int
    until_ts: int
    partials: tuple[PartialWindow, ...] = ()


@dataclass(frozen=True, slots=True)
class AreaJudgement:
    """From a judge: congested windows judged, and the time up to which it has judged."""

    judge: int
    until_ts: int
    congested: tuple[CongestedWindow, ...] = ()


@dataclass
class AreaJudge:
    cfg: Congestion
    judge_id: int
    sources: int
    map: CongestionMap = field(init=False)
    progress: dict[int, int] = field(default_factory=dict)
    until_ts: int = -(2**62)

    def __post_init__(self) -> None:
        self.map = CongestionMap(self.cfg)

    def snapshot(self) -> Snapshot:
        return versioned(
            KIND, VERSION,
            judge_id=self.judge_id,
            map=self.map.snapshot(),
            # Sources are numbers, and JSON keys are strings: [source, until] rows instead.
            progress=[[source, until] for source, until in sorted(self.progress.items())],
            until_ts=self.until_ts,
        )

    @classmethod
    def restore(cls, data: dict[str, Any], cfg: Congestion, judge_id: int,
                sources: int) -> Self:
        """Rebuilt as the constructor builds it, with the settings and fleet size in force now.

        The judge id is checked, not taken: another judge's state is for other cells."""
        values = fields(data, KIND, VERSION, MIGRATIONS)
        if values["judge_id"] != judge_id:
            raise SnapshotError(
                f"{KIND} snapshot is of judge {values['judge_id']}, not of judge {judge_id}")
        judge = cls(cfg, judge_id, sources)
        judge.map = CongestionMap.restore(values["map"], cfg)
        judge.progress = {source: until for source, until in values["progress"]}
        judge.until_ts = values["until_ts"]
        return judge

    def on_progress(
        self, message: AreaProgress
    ) -> tuple[list[AreaRiskChange | RiderAlert], AreaJudgement | None]:
        seen_until = self.progress.get(message.source, -(2**62))
        window_ms = self.map.window_ms
        for part in message.partials:
            # A source that restarted from its last checkpoint sends again what it had sent;
            # being deterministic, it is the same share: merge each window once.
            if part.window_start + window_ms > seen_until:
                self.map.merge(part)
        if message.until_ts > seen_until:
            self.progress[message.source] = message.until_ts
        if len(self.progress) < self.sources:
            return [], None
        low = min(self.progress.values())
        if low <= self.until_ts:
            return [], None
        self.until_ts = low
        decided = self.map.finalize(low)
        self.map.forget_before(low)  # the judge keeps no history: rider partitions do
        congested, self.map.newly_congested = tuple(self.map.newly_congested), []
        return decided, AreaJudgement(self.judge_id, low, congested)
