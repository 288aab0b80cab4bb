"""A core rebuilt from its snapshot, in another process, from an older state version or with
other settings, carries on as if it had never stopped (or with the new settings)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore, RiderState
from streams.primitives.snapshot import SnapshotError, dumps, loads
from tests.builders import alerts, ping, ride
from tests.unit.pipeline.restore_driver import core_snapshot, pending, run_until
from tests.unit.pipeline.test_arrival_order_properties import (
    SETTINGS,
    ZONES,
    across_midnight,
    assert_same_finals_and_alerts_once,
)

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"


def resume(saved: dict, events: list, settings: DetectionSettings | None = None,
           zones=ZONES) -> list:
    core = KnightwatchCore.restore(saved["core"], saved["riders"], settings, zones)
    out = run_until(core, events)
    return out + core.close()


def snapshot_in_another_process(tmp_path: Path, split: int) -> dict:
    path = tmp_path / "core.json"
    # Another interpreter with another string-hash seed: nothing may depend on hash().
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "tests.unit.pipeline.restore_driver", str(path),
                    str(split)], check=True, cwd=ROOT, env=env)
    return loads(path.read_bytes())


@pytest.mark.parametrize("split", [150, 420])
def test_a_core_restored_in_another_process_carries_on_as_if_never_stopped(tmp_path, split):
    events = across_midnight()
    before = run_until(KnightwatchCore(SETTINGS, ZONES), events[:split])
    saved = snapshot_in_another_process(tmp_path, split)
    after = resume(saved, pending(events[:split], saved["riders"]) + events[split:],
                   SETTINGS)
    assert_same_finals_and_alerts_once(before + after)
    assert not [e for e in after if e.stream == "dead_letters"]


def test_a_snapshot_is_the_same_bytes_in_every_process(tmp_path):
    core = KnightwatchCore(SETTINGS, ZONES)
    run_until(core, across_midnight()[:300])
    assert dumps(snapshot_in_another_process(tmp_path, 300)) == dumps(core_snapshot(core))


def _rider_state_v1() -> dict:
    return loads((FIXTURES / "rider_state_v1.json").read_bytes())


def test_a_rider_state_written_before_the_real_time_path_is_restored_and_carries_on():
    """rider_state_v1.json: a speeding rider saved by version 1 (no real-time path) 100 s into
    a ride at 32 km/h, processed up to 88 s; its episode is open and its reminder went out."""
    state = RiderState.restore(_rider_state_v1())
    # The real-time path starts where the event-time path stood: nothing is reminded twice.
    assert state.live.last_ts == state.buffer.last_ts
    assert state.live.snapshot()["detectors"] == state.pipeline.snapshot()["detectors"]
    core = KnightwatchCore()
    core.riders["r1"] = state
    out = []
    # What a worker reads again (the buffered fixes from 92 s), then the rider slows down.
    for event in ride(start_s=92, duration_s=68, speed_kmh=[32.0] * 3 + [18.0] * 15):
        out.extend(core.ingest(event))
    out.extend(core.close())
    assert alerts(out, "speeding") == []  # the reminder went out before the stop
    [delta] = [e.value for e in out if e.stream == "deltas"]  # the episode is scored once
    assert delta.reason == "speeding" and delta.score == 100 + delta.delta


def test_a_snapshot_of_a_newer_state_version_is_refused():
    newer = {**_rider_state_v1(), "v": 99}
    with pytest.raises(SnapshotError, match="newer"):
        RiderState.restore(newer)


def _stop_and_resume(events: list, split: int, settings: DetectionSettings | None = None,
                     more: tuple = ()) -> list:
    """Stop after `split` records and carry on with `settings`, re-reading what a worker
    would (the riders' unprocessed records), then the rest and `more`."""
    core = KnightwatchCore()
    run_until(core, events[:split])
    saved = loads(dumps(core_snapshot(core)))
    again = pending(events[:split], saved["riders"])
    return resume(saved, again + events[split:] + list(more), settings, zones=None)


def test_settings_changed_between_stop_and_restart_take_effect():
    events = ride(duration_s=520, speed_kmh=27)  # within the default 3 km/h tolerance
    strict = DetectionSettings.model_validate({"speeding": {"tolerance_kmh": 0}})
    assert alerts(_stop_and_resume(events, 101), "speeding") == []
    found = alerts(_stop_and_resume(events, 101, strict), "speeding")
    # The unprocessed records are judged by the new rule, and the real-time path applies it
    # from the first fix after the restart (fix 101 at 404 s, its onset 12 s later).
    assert any(a.realtime and a.ts == events[104].ts for a in found)
    assert any(a.evidence["start_ts"] < events[101].ts for a in found)


def test_a_lower_allowed_lateness_applies_to_a_restored_core():
    events = ride(duration_s=404, speed_kmh=18)
    late = ping("r1", 330.5, speed=18)  # 74 s behind the newest fix: within 300 s, not 10 s
    quick = DetectionSettings.model_validate({"timing": {"allowed_lateness_s": 10}})
    kept = _stop_and_resume(events, 101, more=(late,))
    dropped = _stop_and_resume(events, 101, quick, more=(late,))
    assert not [e for e in kept if e.stream == "dead_letters"]
    [dead] = [e.value for e in dropped if e.stream == "dead_letters"]
    assert dead.error.startswith("late:")
