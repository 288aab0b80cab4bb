"""Runs the core as a fleet would, in one process: riders spread over partition cores, weather to
every partition, congestion judged by cell-owning judges from every partition's share."""

from schemas import WeatherEvent
from streams.area.judge import AreaJudge, AreaProgress
from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from streams.primitives.emissions import Emission, area_emissions
from streams.primitives.zones import ZoneMap

# The production partitioner, so that riders and cells spread as they do in a worker fleet.
from streams.worker.partitioning import partition_for as _bucket


def run_fleet(events: list, *, partitions: int = 3, judges: int = 2,
              settings: DetectionSettings | None = None, zones: ZoneMap | None = None,
              advance_every: int = 25) -> list[Emission]:
    settings = settings or DetectionSettings()
    cores = [KnightwatchCore(settings, zones, area_source=i, area_judges=judges)
             for i in range(partitions)]
    area_judges = [AreaJudge(settings.congestion, j, partitions) for j in range(judges)]
    counts = [0] * partitions
    out: list[Emission] = []

    def route(emissions: list[Emission]) -> None:
        for e in emissions:
            if e.stream != "area_progress":
                out.append(e)
                continue
            progress: AreaProgress = e.value  # type: ignore[assignment]
            for j, judge in enumerate(area_judges):
                mine = tuple(p for p in progress.partials if _bucket(p.cell, judges) == j)
                decided, judgement = judge.on_progress(
                    AreaProgress(progress.source, progress.until_ts, mine))
                out.extend(area_emissions(decided))
                if judgement is not None:
                    for core in cores:
                        route(core.on_judgement(judgement))

    for event in events:
        targets = range(partitions) if isinstance(event, WeatherEvent) else [
            _bucket(event.rider_id, partitions)]
        for p in targets:
            route(cores[p].ingest(event))
            counts[p] += 1
            if counts[p] % advance_every == 0:
                route(cores[p].advance())
    for core in cores:
        route(core.close())
    return out
