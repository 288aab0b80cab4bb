"""Runs the first part of the property scenario through a core and writes its snapshot, so a
restore can be tested in another process: `python -m tests.unit.pipeline.restore_driver OUT N`.
"""

import sys

from streams.pipeline.processor import KnightwatchCore
from streams.primitives.emissions import Emission
from streams.primitives.snapshot import Snapshot, dumps
from tests.unit.pipeline.test_arrival_order_properties import (
    SETTINGS,
    ZONES,
    across_midnight,
)


def run_until(core: KnightwatchCore, events: list) -> list[Emission]:
    out: list[Emission] = []
    for i, event in enumerate(events, 1):
        out.extend(core.ingest(event))
        if i % 25 == 0:
            out.extend(core.advance())
    return out


def core_snapshot(core: KnightwatchCore) -> Snapshot:
    return {"core": core.snapshot(),
            "riders": {rider_id: state.snapshot() for rider_id, state in core.riders.items()}}


def pending(events: list, riders: dict[str, Snapshot]) -> list:
    """What a worker reads again after a restart: the records its riders had not processed
    (a rider's snapshot holds no buffered events; weather is in the core's snapshot)."""
    again = []
    for event in events:
        rider_id = getattr(event, "rider_id", None)
        if rider_id is None:
            continue
        released = riders[rider_id]["buffer"]["released_until"] if rider_id in riders else None
        if released is None or event.ts >= released:
            again.append(event)
    return again


def main() -> None:
    path, split = sys.argv[1], int(sys.argv[2])
    core = KnightwatchCore(SETTINGS, ZONES)
    run_until(core, across_midnight()[:split])
    with open(path, "wb") as out:
        out.write(dumps(core_snapshot(core)))


if __name__ == "__main__":
    main()
