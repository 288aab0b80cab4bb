"""The stream's clock: no single wrong phone clock moves it far, a record dated after its
arrival is refused, and the clock is data like the rest of the state."""

import io
import json

import orjson

from streams.config.settings import load_settings
from streams.config.thresholds import DetectionSettings, StreamTiming
from streams.pipeline.clock import EventClock
from streams.pipeline.processor import KnightwatchCore
from streams.primitives.snapshot import dumps, loads
from streams.replay.runner import replay
from tests.builders import T0, by_time, ping, ride, run_core
from tests.unit.pipeline.test_arrival_order_properties import canonical

HOUR_MS = 3_600_000
SETTINGS = load_settings()


def fleet() -> list:
    events = []
    for r in range(12):
        speeds = [18.0] * 20 + ([36.0] * 10 if r % 3 == 0 else [18.0] * 10) + [18.0] * 120
        events += ride(f"r{r}", start_s=r * 7, duration_s=600, speed_kmh=speeds)
    return by_time(events)


def skewed(ts_shift_ms: int, at: int = 200) -> tuple[list, object]:
    events = fleet()
    bad = ping("broken-phone", 100, speed=18).model_copy(update={"ts": T0 + ts_shift_ms})
    return [*events[:at], bad, *events[at:]], bad


def test_one_phone_an_hour_fast_changes_nothing_for_the_other_riders():
    baseline = run_core(fleet())
    events, _ = skewed(HOUR_MS)
    out = run_core(events)
    others = [e for e in out if e.key != "broken-phone"]
    assert not [e for e in others if e.stream == "dead_letters"]
    assert canonical(others) == canonical(baseline)


def test_a_first_record_dated_in_2286_does_not_set_the_clock():
    events = fleet()
    bad = ping("broken-phone", 0, speed=18).model_copy(update={"ts": 9_999_999_999_999})
    core = KnightwatchCore()
    core.ingest(bad)
    core.advance()
    out = [e for ev in events for e in core.ingest(ev)]
    assert not [e for e in out if e.stream == "dead_letters"]
    assert core.clock.stream_ts < T0 + HOUR_MS


def test_a_record_dated_after_its_arrival_is_refused_and_moves_nothing():
    core = KnightwatchCore()
    fix = ping("r1", 0, speed=18)
    allowed_ms = int(DetectionSettings().timing.max_clock_ahead_s * 1000)
    [dead] = core.ingest(fix, arrival_ts=fix.ts - allowed_ms - 1000)
    assert dead.stream == "dead_letters" and dead.value.error.startswith("clock ahead:")
    assert "r1" not in core.riders and core.clock.stream_ts is None
    assert core.ingest(fix, arrival_ts=fix.ts - allowed_ms) == []  # at the limit it counts
    assert "r1" in core.riders


def test_a_lone_rider_moves_the_clock_half_a_window_behind():
    clock = EventClock(StreamTiming(clock_window=8))
    for i in range(20):
        clock.observe(T0 + i * 4000)
    assert clock.stream_ts == T0 + (19 - 4) * 4000  # the lower median of the last 8


def test_the_clock_is_restored_from_its_snapshot_with_the_window_in_force():
    clock = EventClock(StreamTiming())
    for i in range(100):
        clock.observe(T0 + i * 1000)
    smaller = EventClock.restore(loads(dumps(clock.snapshot())), StreamTiming(clock_window=4))
    smaller.observe(T0 + 100_000)
    assert smaller.stream_ts == T0 + 98_000  # the lower median of the last 4 arrivals


def _gps_line(fix, **envelope) -> bytes:
    return orjson.dumps({"topic": SETTINGS.topics.gps, "key": fix.rider_id,
                         "value": json.loads(fix.model_dump_json()), **envelope}) + b"\n"


def test_replay_refuses_a_record_dated_well_after_its_envelope_timestamp():
    fixes = ride("r1", duration_s=60, speed_kmh=18)
    ahead = ping("r2", 30, speed=18)
    arrival = ahead.ts - int(SETTINGS.detection.timing.max_clock_ahead_s * 1000) - 60_000
    lines = [_gps_line(f, timestamp=f.ts) for f in fixes] + [_gps_line(ahead, timestamp=arrival)]
    sink = io.BytesIO()
    summary = replay(io.BytesIO(b"".join(lines)), sink, SETTINGS, show_progress=False)
    [dead] = [json.loads(x)["value"] for x in sink.getvalue().splitlines()
              if b'"dead-letters"' in x]
    assert dead["error"].startswith("clock ahead:") and dead["key"] == "r2"
    assert summary.processed == len(fixes)  # the valid records around it all took effect
