"""Riders quiet for `timing.evict_after_s` leave memory for their snapshot and come back
from it with everything that matters: memory follows active riders."""

from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from tests.builders import deltas, ping, ride

QUICK = DetectionSettings.model_validate({"timing": {"evict_after_s": 600}})


def _feed(core: KnightwatchCore, events: list) -> list:
    out = []
    for event in events:
        out.extend(core.ingest(event))
        out.extend(core.advance())
    return out


def _speeding(rider: str, start_s: float) -> list:
    return ride(rider, start_s=start_s, duration_s=80,
                speed_kmh=[18.0] * 5 + [40.0] * 10 + [18.0] * 6)


def test_a_rider_quiet_past_the_eviction_time_leaves_memory_and_returns_with_its_score():
    core = KnightwatchCore(QUICK)
    out = _feed(core, _speeding("r1", 0))
    # Another rider keeps the stream's event time moving for an hour.
    first = deltas(out + _feed(core, ride("other", start_s=100, duration_s=3600, every_s=20)))
    assert "r1" not in core.riders and "r1" in core.evicted
    again = deltas(_feed(core, _speeding("r1", 3800)) + core.close())
    [penalty] = first
    [second] = again
    assert second.score == penalty.score + second.delta  # the score carried over


def test_a_rider_stays_in_memory_until_the_area_clock_passes_its_eviction_time():
    core = KnightwatchCore(QUICK)
    _feed(core, ride("r1", duration_s=60))
    _feed(core, ride("other", start_s=100, duration_s=900, every_s=20))
    # 15 min after its last fix the area clock (10 min behind) has not passed the 10 min.
    assert "r1" in core.riders
    _feed(core, ride("other", start_s=1004, duration_s=900, every_s=20))
    assert "r1" not in core.riders


def test_an_evicted_rider_is_in_the_snapshot_an_owner_saves():
    core = KnightwatchCore(QUICK)
    _feed(core, _speeding("r1", 0))
    _feed(core, ride("other", start_s=100, duration_s=3600, every_s=20))
    saved = core.rider_snapshot("r1")
    assert saved is not None and saved["pipeline"]["score"]["score"] < 100


def test_riders_seen_once_are_forgotten_so_memory_comes_back():
    core = KnightwatchCore(QUICK)
    # A phone that invents a new rider id for every record.
    _feed(core, [ping(f"one-off-{i}", i * 0.5, speed=18) for i in range(2000)])
    _feed(core, ride("other", start_s=1000, duration_s=3600, every_s=20))
    assert not [r for r in core.riders if r.startswith("one-off")]
    assert not [r for r in core.evicted if r.startswith("one-off")]
