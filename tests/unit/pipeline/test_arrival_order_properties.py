"""The same input in any arrival order within the lateness bound gives the same final output
(score deltas, decisions, subsidies, area risk), and every alert the event-time path finds is
published exactly once; only when an alert leaves and its real-time mark depend on arrival."""

import io
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.config.settings import load_settings
from streams.config.thresholds import DetectionSettings
from streams.replay.envelope import format_emission
from streams.replay.runner import replay
from tests.builders import T0, by_time, order, ping, redemption, ride, run_core, weather
from tests.unit.detectors.zones_fixture import zone_map
from tests.unit.orders.helpers import delivery

LATENESS_MS = 300_000
ZONES = zone_map(no_entry_at_m=600, one_way_north=True)
TOPICS = load_settings().topics
# Five minutes of riding make a safe riding day here, so the scenario's short rides earn some.
SETTINGS = DetectionSettings.model_validate({"scoring": {"safe_riding_day_min_riding_s": 300}})
MIDNIGHT_S = 14 * 3600  # T0 is 10:00 in Shanghai


def scenario() -> list:
    events = []
    events += ride("speeder", speed_kmh=[18.0] * 10 + [38.0] * 25 + [18.0] * 20, duration_s=220)
    events += ride("clean", speed_kmh=17, duration_s=600, noise_m=3, device_speed=False, seed=5)
    events += ride("wrongway", speed_kmh=16, duration_s=120, heading_deg=180)
    braking = ride("braker", speed_kmh=[25.0] * 12 + [12.0, 0.0, 0.0, 0.0, 0.0], every_s=1,
                   duration_s=17)
    events += braking
    events += ride("phone", speed_kmh=20, duration_s=80)
    events.append(order("o-1", "accepted", -5, rider="phone"))
    events.append(order("o-1", "picked_up", 40.5, rider="phone"))
    events.append(ping("jumper", 0, 31.23, 121.47, speed=10))
    events.append(ping("jumper", 2, 31.24, 121.47, speed=10))  # 1.1 km in 2 s
    events.append(ping("jumper", 4, 31.23001, 121.47, speed=10))
    events.append(weather(300, minutes=40))
    events += delivery("o-late", "courier", promised_s=1500, delivered_s=1800, arrived_s=120,
                       ready_s=720)
    events += delivery("o-ok", "courier2", promised_s=1800, delivered_s=1500)
    # A safe delivery's points spent, then more than is left: which redemption goes through
    # depends only on event time, not on which record arrives first.
    events += delivery("o-saver", "saver", promised_s=600, delivered_s=100, arrived_s=20,
                       ready_s=40, speed_kmh=8)
    events.append(redemption("rd-1", 10, 150, rider="saver"))
    events.append(redemption("rd-2", 50, 160, rider="saver"))
    for r in range(4):  # a crawling crowd: congestion
        for leg in range(5):
            events += ride(f"crowd{r}", start_s=leg * 120, duration_s=116, speed_kmh=4,
                           heading_deg=90 if leg % 2 == 0 else 270, start=(31.25, 121.45))
    return by_time(events)


def across_midnight() -> list:
    """The city, and its night: safe riding days. The fleet and bench tests on a real broker
    run `scenario()` alone, several copies an hour apart, which a night would make late."""
    events = scenario()
    # Away from the zones: a safe riding day, decided at midnight while out of memory.
    events += ride("careful", duration_s=480, speed_kmh=15, heading_deg=180,
                   start=(31.20, 121.40))
    # Riding across midnight, far from everyone: the first day is decided while the stream
    # goes on (the morning's riders long out of memory), the second at the end of input.
    events += ride("nightowl", start_s=MIDNIGHT_S - 1800, duration_s=4800, every_s=20,
                   speed_kmh=16, start=(31.35, 121.35))
    return by_time(events)


def canonical(emissions) -> list[bytes]:
    """The final records, in a form that ignores the order they left in."""
    return sorted(format_emission(e, TOPICS) for e in emissions if e.stream != "alerts")


def alert_ids(emissions) -> list[str]:
    return [e.value.alert_id for e in emissions if e.stream == "alerts"]


def assert_same_finals_and_alerts_once(emissions) -> None:
    assert canonical(emissions) == BASELINE
    published = alert_ids(emissions)
    assert len(published) == len(set(published)), "an alert was published twice"
    assert set(BASELINE_ALERTS) <= set(published)


BASELINE_OUT = run_core(across_midnight(), SETTINGS, zones=ZONES)
BASELINE = canonical(BASELINE_OUT)
BASELINE_ALERTS = alert_ids(BASELINE_OUT)


def shuffled_within_lateness(events: list, rng: random.Random) -> list:
    # Each record arrives up to the lateness after its event time: never after a record more
    # than the lateness newer than itself has been seen.
    keyed = [(e.ts + rng.randrange(LATENESS_MS), i, e) for i, e in enumerate(events)]
    return [e for _, _, e in sorted(keyed)]


def test_the_scenario_exercises_the_detectors():
    kinds = {e.value.kind.encode() for e in BASELINE_OUT if e.stream == "alerts"}
    assert {b"speeding", b"wrong_way", b"harsh_braking", b"phone_use", b"gps_anomaly",
            b"restricted_zone", b"severe_weather", b"congestion"} <= kinds
    topics = {line.split(b'"topic":"')[1].split(b'"')[0] for line in BASELINE}
    assert {b"order-exemptions", b"area-risk", b"rider-subsidies", b"rider-score-deltas",
            b"rider-safety-points"} <= topics
    days = [line for line in BASELINE if b'"safe_riding_day"' in line]
    assert any(b'"rider_id":"nightowl"' in line and b'"ref":"2026-07-15"' in line
               for line in days)
    assert any(b'"rider_id":"careful"' in line for line in days)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_shuffling_within_lateness_does_not_change_output(seed):
    shuffled = shuffled_within_lateness(across_midnight(), random.Random(seed))
    assert_same_finals_and_alerts_once(run_core(shuffled, SETTINGS, zones=ZONES))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_duplicating_every_record_does_not_change_output(seed):
    events = across_midnight()
    doubled = shuffled_within_lateness(events + events, random.Random(seed))
    assert_same_finals_and_alerts_once(run_core(doubled, SETTINGS, zones=ZONES))


def test_a_record_later_than_the_bound_goes_to_dead_letters():
    events = ride("r1", speed_kmh=18, duration_s=900, every_s=4)
    late = events.pop(10)
    out = run_core([*events, late])
    [dead] = [e.value for e in out if e.stream == "dead_letters"]
    assert dead.error.startswith("late:") and dead.key == "r1"
    assert late.ts > T0


def _envelope(event) -> bytes:
    topic, key = {"GpsPing": ("rider-gps", "rider_id"), "OrderEvent": ("order-events", "order_id"),
                  "WeatherEvent": ("weather-events", "city"),
                  "PointRedemption": ("rider-point-redemptions", "rider_id")}[type(event).__name__]
    return b'{"topic":"%s","key":"%s","value":%s}\n' % (
        topic.encode(), getattr(event, key).encode(), event.model_dump_json().encode())


def _replay_bytes(lines: list[bytes]) -> bytes:
    sink = io.BytesIO()
    replay(io.BytesIO(b"".join(lines)), sink, load_settings(), ZONES, show_progress=False)
    return sink.getvalue()


def test_replaying_twice_gives_byte_identical_output():
    lines = [_envelope(e) for e in scenario()]
    first, second = _replay_bytes(lines), _replay_bytes(lines)
    assert first == second and first.count(b"\n") > 20
    assert b"order-exemptions" in first and b"area-risk" in first
