"""A rider-gps record as a rider partition first reads it: a valid fix as a compact Ping by the
fast path, and anything unusual through the models, which say what replay says of it."""

from schemas import DeadLetter, GpsPing
from streams.config.settings import load_settings
from streams.primitives.events import HEARTBEAT_PREFIX, Ping
from streams.worker.validation import read_input
from tests.builders import T0, ping

SETTINGS = load_settings()
GPS = SETTINGS.topics.gps
AHEAD_MS = int(SETTINGS.detection.timing.max_clock_ahead_s * 1000)


def _read(fix: GpsPing, key: str | None = None, written_ms: int | None = None):
    return read_input(SETTINGS, "gps", GPS, (key or fix.rider_id).encode(),
                      fix.model_dump_json().encode(), written_ms)


def test_a_valid_fix_comes_back_as_the_ping_the_model_would_give():
    fix = ping("r1", 5, speed=18.5, heading=90.0)
    assert _read(fix, written_ms=T0 + 6000) == Ping.of(fix)
    assert type(_read(fix)) is Ping


def test_a_heartbeat_comes_back_as_its_model():
    beat = ping(f"{HEARTBEAT_PREFIX}gw-1", 5, accuracy=None, city=None)
    assert type(_read(beat)) is GpsPing


def test_a_fix_dated_ahead_of_its_arrival_is_the_same_dead_letter_as_through_the_models():
    fix = ping("r1", 600)
    letter = _read(fix, written_ms=fix.ts - AHEAD_MS - 1000)
    assert isinstance(letter, DeadLetter)
    assert letter.raw == fix.model_dump_json() and letter.source_topic == GPS


def test_a_fix_keyed_by_another_rider_is_a_dead_letter():
    letter = _read(ping("r1", 5), key="r2")
    assert isinstance(letter, DeadLetter) and "does not match" in letter.error
