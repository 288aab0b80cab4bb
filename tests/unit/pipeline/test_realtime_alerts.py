"""The real-time path sends each rider alert with the record that completes its rule, marked
real-time while that fix is fresh; the event-time path publishes only what it missed.

Each scenario is one rider's records in order (plus the weather they ride under) and the
record whose `ingest()` must return the alert. Most alerts are dated at that fix; a harsh
speed change is dated at the end of the change (confirmed by positions 2 s later) and phone
use at the tap (judged at the fix after it), so a scenario also names the record its alert is
dated at."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from schemas import GpsPing, RiderAlert
from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from streams.primitives.emissions import Emission
from streams.primitives.geo import bearing_deg, haversine_m, offset
from streams.primitives.zones import ZoneMap
from tests.builders import ORIGIN, T0, alerts, by_time, deltas, order, ping, ride, run_core, weather
from tests.unit.detectors.zones_fixture import zone_map

LATENESS_MS = int(DetectionSettings().timing.allowed_lateness_s * 1000)
DEFAULT_MAX_AGE_S = DetectionSettings().timing.realtime_max_age_s


@dataclass(frozen=True)
class Scenario:
    kind: str
    events: list  # in arrival (= event-time) order
    completing: int  # index of the record whose ingest() returns the alert
    dated: int | None = None  # index of the record the alert is dated at, if another one
    overrides: dict[str, Any] = field(default_factory=dict)  # settings beyond the defaults
    zones: ZoneMap | None = None

    @property
    def alert_ts(self) -> int:
        return self.events[self.completing if self.dated is None else self.dated].ts

    def settings(self, **timing: float) -> DetectionSettings:
        return DetectionSettings.model_validate({**self.overrides, "timing": timing})

    def core(self, **timing: float) -> KnightwatchCore:
        return KnightwatchCore(self.settings(**timing), self.zones)


# -- scenarios, one per rider alert kind (shapes from tests/unit/detectors) ------------------


def speeding() -> Scenario:
    pings = ride(speed_kmh=[18.0] * 10 + [40.0] * 23 + [18.0] * 10, duration_s=4 * 43, every_s=4)
    return Scenario("speeding", pings, completing=13)  # the 4th fast fix: 12 s over the cap


def harsh_braking() -> Scenario:
    """1 Hz: 20 s at 25 km/h, then a stop in 2 s with positions that agree."""
    speeds = [25.0] * 20 + [12.0, 0.0] + [0.0] * 5
    pings, lat, lon = [], *ORIGIN
    for i, v in enumerate(speeds):
        if i:
            lat, lon = offset(lat, lon, (speeds[i - 1] + v) / 2 / 3.6, 0)
        pings.append(ping(t_s=i, lat=lat, lon=lon, speed=v, heading=0))
    # 25 -> 12 km/h in the second ending at fix 20, confirmed by positions at fix 22.
    return Scenario("harsh_braking", pings, completing=22, dated=20)


def harsh_acceleration() -> Scenario:
    pings = ride(speed_kmh=[5.0] * 5 + [15.0, 25.0] + [25.0] * 10, every_s=1, duration_s=17)
    # 5 -> 15 km/h in the second ending at fix 5, confirmed by positions at fix 7.
    return Scenario("harsh_acceleration", pings, completing=7, dated=5)


def harsh_cornering() -> Scenario:
    pings = ride(speed_kmh=22, every_s=1, duration_s=20, heading_deg=0)
    turned = [p.model_copy(update={"heading_deg": 90.0}) for p in pings[10:]]
    return Scenario("harsh_cornering", pings[:10] + turned, completing=10)


def restricted_zone() -> Scenario:
    zones = zone_map(no_entry_at_m=300)  # the ride heads east through it
    pings = ride(speed_kmh=15, duration_s=200, every_s=4)
    first_inside = next(i for i, p in enumerate(pings) if zones.zones_at(p.lat, p.lon))
    return Scenario("restricted_zone", pings, completing=first_inside, zones=zones)


def wrong_way() -> Scenario:
    pings = ride(speed_kmh=15, duration_s=60, every_s=4, heading_deg=180)
    min_ms = DetectionSettings().wrong_way.min_duration_s * 1000
    at_min = next(i for i, p in enumerate(pings) if p.ts - pings[0].ts >= min_ms)
    return Scenario("wrong_way", pings, completing=at_min, zones=zone_map(one_way_north=True))


def phone_use() -> Scenario:
    tap = order("o1", "picked_up", 30.5)
    accepted = order("o1", "accepted", -5)
    events = by_time([accepted, *ride(speed_kmh=20, duration_s=60, every_s=4), tap])
    tapped = events.index(tap)
    return Scenario("phone_use", events, completing=tapped + 1, dated=tapped)


def fatigue() -> Scenario:
    warning_s = 60
    pings = ride(speed_kmh=16, duration_s=120, every_s=4, heading_deg=0)
    past = next(i for i, p in enumerate(pings) if p.ts - pings[0].ts > warning_s * 1000)
    return Scenario("fatigue", pings, completing=past,
                    overrides={"fatigue": {"continuous_warning_s": warning_s}})


def severe_weather() -> Scenario:
    warning = weather(18, minutes=60)  # issued while the rider is already riding
    events = by_time([*ride(speed_kmh=18, duration_s=60, every_s=4), warning])
    return Scenario("severe_weather", events, completing=events.index(warning) + 1)


def gps_anomaly() -> Scenario:
    pings = ride(speed_kmh=18, duration_s=120, every_s=1, device_speed=False,
                 device_heading=False)
    far = offset(pings[60].lat, pings[60].lon, 400, 0)
    pings[60] = ping(t_s=60, lat=far[0], lon=far[1])
    return Scenario("gps_anomaly", pings, completing=60)


SCENARIOS: list[Callable[[], Scenario]] = [
    speeding, harsh_braking, harsh_acceleration, harsh_cornering, restricted_zone, wrong_way,
    phone_use, fatigue, severe_weather, gps_anomaly,
]
KINDS = [pytest.param(build, id=build.__name__) for build in SCENARIOS]


# -- helpers -------------------------------------------------------------------------------


def ingest_each(core: KnightwatchCore, events: list) -> list[list[Emission]]:
    """What each ingest() call returned, one list per record."""
    return [core.ingest(event) for event in events]


def the_alert(returned: list[Emission], kind: str) -> RiderAlert:
    [alert] = alerts(returned, kind)
    return alert


def count(emissions: list[Emission], alert_id: str) -> int:
    return [a.alert_id for a in alerts(emissions)].count(alert_id)


def riding_on(events: list, seconds: float) -> list[GpsPing]:
    """The rider rides on as at its last fix, one fix a second, for `seconds` more."""
    prev, last = [e for e in events if isinstance(e, GpsPing)][-2:]
    travelled_m = haversine_m(prev.lat, prev.lon, last.lat, last.lon)
    speed = last.speed_kmh
    if speed is None:
        speed = travelled_m / ((last.ts - prev.ts) / 1000) * 3.6
    heading = last.heading_deg
    if heading is None:
        heading = bearing_deg(prev.lat, prev.lon, last.lat, last.lon)
    step_m = speed / 3.6
    start = offset(last.lat, last.lon, step_m * math.cos(math.radians(heading)),
                   step_m * math.sin(math.radians(heading)))
    return ride(start_s=(last.ts - T0) / 1000 + 1, start=start, duration_s=seconds,
                speed_kmh=speed, every_s=1, heading_deg=heading)


def stream_clock_at(ts: int) -> list[GpsPing]:
    """Fixes of other riders, far off, that move the stream's event time to `ts`: a window's
    worth of them, since the stream's clock is the median of the latest fixes."""
    lat, lon = offset(*ORIGIN, 5000, 5000)
    return [ping(f"ahead-{i}", lat=lat, lon=lon, speed=18, heading=0).model_copy(
        update={"ts": ts}) for i in range(DetectionSettings().timing.clock_window)]


def behind_the_stream(scenario: Scenario, lag_ms: int) -> list:
    """The scenario's records, with the stream's clock `lag_ms` past the completing fix by the
    time that fix arrives."""
    fix = scenario.events[scenario.completing]
    ahead = stream_clock_at(fix.ts + lag_ms)
    return [*scenario.events[:scenario.completing], *ahead,
            *scenario.events[scenario.completing:]]


# -- in order: the alert leaves with its fix, once -----------------------------------------


@pytest.mark.parametrize("build", KINDS)
def test_the_alert_leaves_realtime_with_the_fix_that_completes_its_rule_and_not_before(
        build: Callable[[], Scenario]) -> None:
    scenario = build()
    returned = ingest_each(scenario.core(), scenario.events)
    alert = the_alert(returned[scenario.completing], scenario.kind)
    assert alert.ts == scenario.alert_ts
    assert alert.realtime is True
    assert all(alerts(earlier, scenario.kind) == [] for earlier in returned[:scenario.completing])


@pytest.mark.parametrize("rides_on", [False, True], ids=["ride_ends", "rides_on_past_lateness"])
@pytest.mark.parametrize("build", KINDS)
def test_the_event_time_path_does_not_publish_a_realtime_alert_a_second_time(
        build: Callable[[], Scenario], rides_on: bool) -> None:
    """Whether the event-time path reaches the alert at close() or, as the rider rides on, by
    the rider's own clock passing the lateness."""
    scenario = build()
    tail = riding_on(scenario.events, LATENESS_MS / 1000 + 30) if rides_on else []
    core = scenario.core()
    returned = ingest_each(core, scenario.events + tail)
    alert_id = the_alert(returned[scenario.completing], scenario.kind).alert_id
    everything = [e for out in returned for e in out] + core.close()
    assert count(everything, alert_id) == 1


# -- out of order: the event-time path publishes what the real-time path missed -------------


def test_a_rule_completed_by_a_late_fix_is_published_once_by_the_event_time_path_not_realtime():
    # Fast fixes 10..13 make exactly a 12 s episode; fix 13 (the one completing it) arrives
    # after fixes 14 and 15, so the real-time path sees the episode end 8 s long.
    pings = ride(speed_kmh=[18.0] * 10 + [40.0] * 4 + [18.0] * 90, duration_s=4 * 103,
                 every_s=4)
    onset = pings[13]
    arrival = [*pings[:13], pings[14], pings[15], onset, *pings[16:]]
    core = KnightwatchCore()
    returned = ingest_each(core, arrival)
    # The rider's clock passes the lateness behind the onset with the first fix beyond it.
    passes = next(i for i, p in enumerate(arrival) if p.ts > onset.ts + LATENESS_MS)
    alert = the_alert(returned[passes], "speeding")
    assert alert.ts == onset.ts
    assert alert.realtime is False
    assert all(alerts(earlier, "speeding") == [] for earlier in returned[:passes])

    everything = [e for out in returned for e in out] + core.close()
    assert count(everything, alert.alert_id) == 1
    in_order = run_core(pings)
    assert [a.alert_id for a in alerts(in_order, "speeding")] == [alert.alert_id]
    assert deltas(in_order) != []
    assert deltas(everything) == deltas(in_order)


# -- stale: an offline stretch uploaded in order, behind the stream ------------------------


@pytest.mark.parametrize("build", KINDS)
def test_a_stale_stretch_alerts_with_its_fix_but_not_realtime(
        build: Callable[[], Scenario]) -> None:
    scenario = build()
    # The rest of the fleet is live well ahead of this rider's whole stretch, and keeps
    # arriving while the stretch is uploaded: two live fixes for each of the rider's.
    last_ts = max(e.ts for e in scenario.events)
    live_ts = last_ts + int((DEFAULT_MAX_AGE_S + 60) * 1000)
    ahead = stream_clock_at(live_ts)
    upload = []
    for i, event in enumerate(scenario.events):
        upload += [*stream_clock_at(live_ts + 1 + i)[:2], event]
    returned = ingest_each(scenario.core(), [*ahead, *upload])[len(ahead):]
    completing = 3 * scenario.completing + 2
    alert = the_alert(returned[completing], scenario.kind)
    assert alert.ts == scenario.alert_ts
    assert alert.realtime is False
    # (The live riders may have alerts of their own, e.g. under the same weather warning.)
    assert all(a.rider_id != alert.rider_id for earlier in returned[:completing]
               for a in alerts(earlier, scenario.kind))


@pytest.mark.parametrize("max_age_s", [0, 60])
@pytest.mark.parametrize("build", KINDS)
def test_realtime_max_age_sets_how_far_behind_the_stream_the_completing_fix_may_be(
        build: Callable[[], Scenario], max_age_s: int) -> None:
    scenario = build()
    marks = []
    for lag_ms in (max_age_s * 1000, max_age_s * 1000 + 1):
        events = behind_the_stream(scenario, lag_ms)
        returned = ingest_each(scenario.core(realtime_max_age_s=max_age_s), events)
        completing = scenario.completing + DetectionSettings().timing.clock_window
        marks.append(the_alert(returned[completing], scenario.kind).realtime)
    assert marks == [True, False]  # at the limit still real-time; a millisecond past, not
