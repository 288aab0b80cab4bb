"""Detector state as data: a snapshot taken mid-ride, read back by another process (a JSON
round trip), continues the ride exactly as the live object would have."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from schemas import GpsPing, OrderEvent
from streams.config.thresholds import DetectionSettings, RestrictedZones
from streams.detectors.base import RiderContext
from streams.detectors.fatigue import FatigueDetector
from streams.detectors.gps_hygiene import GpsCleaner
from streams.detectors.harsh import HarshManoeuvreDetector
from streams.detectors.phone_use import PhoneUseDetector
from streams.detectors.restricted_zone import RestrictedZoneDetector
from streams.detectors.wrong_way import WrongWayDetector
from streams.primitives.events import Ping
from streams.primitives.geo import offset
from streams.primitives.snapshot import Snapshot, SnapshotError, dumps, loads
from streams.primitives.zones import ZoneMap
from tests.builders import ORIGIN, T0, by_time, order, ping, ride
from tests.unit.detectors.zones_fixture import square, zone_map

DETECTORS = [GpsCleaner, HarshManoeuvreDetector, WrongWayDetector, PhoneUseDetector,
             FatigueDetector, RestrictedZoneDetector]
Stateful = Any  # any of DETECTORS: they share the snapshot/restore and feeding shapes


def context(zones: ZoneMap | None = None,
            settings: DetectionSettings | None = None) -> RiderContext:
    return RiderContext("r1", settings or DetectionSettings(), zones or ZoneMap.empty())


def as_fixes(events: list) -> list:
    """Pings become the fixes GPS hygiene makes of them; order events pass through."""
    cleaner, ctx, out = GpsCleaner(), context(), []
    for event in events:
        if isinstance(event, GpsPing):
            fix, _ = cleaner.clean(Ping.of(event), ctx)
            if fix is not None:
                out.append(fix)
        else:
            out.append(event)
    return out


def feed(obj: Stateful, events: list, ctx: RiderContext, *, close: bool = False) -> list:
    """Everything `obj` reports for `events` (and on close): alerts, or the cleaner's outputs."""
    out: list = []
    for event in events:
        if isinstance(obj, GpsCleaner):
            out.append(obj.clean(event, ctx))
        elif isinstance(event, OrderEvent):
            out.extend(obj.on_order_event(event, ctx))
        else:
            out.extend(obj.on_fix(event, ctx))
    if close and not isinstance(obj, GpsCleaner):
        out.extend(obj.close(ctx))
    return out


# -- rides that leave state behind at `split_s` ------------------------------------------------


def jump_and_relocate() -> list:
    """A jump that turns out to be a relocation, then a lone outlier on the new track."""
    first = ride(duration_s=60, every_s=1, device_speed=False)
    moved = offset(first[-1].lat, first[-1].lon, 800, 0)
    second = ride(start_s=61, start=moved, duration_s=60, every_s=1, device_speed=False)
    far = offset(second[40].lat, second[40].lon, 0, 300)
    second[40] = ping(t_s=101, lat=far[0], lon=far[1])
    return [Ping.of(p) for p in first + second]


def emergency_stop() -> list:
    speeds = [25.0] * 20 + [12.0, 0.0] + [0.0] * 5
    return as_fixes(ride(speed_kmh=speeds, every_s=1, duration_s=26, heading_deg=0))


def against_one_way() -> list:
    return as_fixes(ride(speed_kmh=15, duration_s=60, heading_deg=180))


def tap_while_riding() -> list:
    return as_fixes(by_time([*ride(speed_kmh=20, duration_s=60), order("o1", "picked_up", 30.5)]))


def long_shift() -> list:
    return as_fixes(ride(duration_s=4.5 * 3600, every_s=30, speed_kmh=16, heading_deg=0))


def two_zones() -> ZoneMap:
    # Overlapping, so a visit leaves more than one zone in the detector's set.
    center = offset(*ORIGIN, 0, 300)
    features = [{"type": "Feature", "properties": {"kind": "no_entry", "name": name},
                 "geometry": {"type": "Polygon", "coordinates": [square(center, half_m)]}}
                for name, half_m in [("pedestrian street", 100), ("market lane", 150)]]
    return ZoneMap.from_geojson({"type": "FeatureCollection", "features": features})


def through_zones() -> list:
    return as_fixes(ride(speed_kmh=15, duration_s=200, every_s=4))


@dataclass(frozen=True)
class Ride:
    make: Callable[[], Stateful]
    events: Callable[[], list]
    split_s: float
    carries: Callable[[Snapshot], bool]  # the state at the split is more than a fresh object's
    zones: Callable[[], ZoneMap] = ZoneMap.empty
    settings: DetectionSettings | None = None  # the defaults

    def halves(self) -> tuple[list, list]:
        events = self.events()
        cut = T0 + int(self.split_s * 1000)
        return [e for e in events if e.ts < cut], [e for e in events if e.ts >= cut]


RIDES = {
    "gps jump candidate": Ride(GpsCleaner, jump_and_relocate, 61.5,
                               lambda s: len(s["candidates"]) == 1 and s["rejected"] == 1),
    "pending harsh braking": Ride(HarshManoeuvreDetector, emergency_stop, 21.5,
                                  lambda s: len(s["pending"]) > 0),
    "open wrong-way episode": Ride(WrongWayDetector, against_one_way, 5,
                                   lambda s: s["episode"] is not None,
                                   lambda: zone_map(one_way_north=True)),
    "pending phone tap": Ride(PhoneUseDetector, tap_while_riding, 31,
                              lambda s: len(s["pending"]) == 1),
    "fatigue stretch": Ride(FatigueDetector, long_shift, 3 * 3600,
                            lambda s: s["day_ms"] > 0 and not s["stretch_warned"]),
    # A re-entry cooldown shorter than the rest of the visit: only the remembered visits keep
    # the rider from being told again while still inside.
    "zone visit": Ride(RestrictedZoneDetector, through_zones, 70,
                       lambda s: s["alerted_visits"] == ["market lane", "pedestrian street"],
                       two_zones, DetectionSettings(zones=RestrictedZones(reentry_cooldown_s=30))),
}
ride_cases = pytest.mark.parametrize("case", RIDES.values(), ids=RIDES.keys())


@ride_cases
def test_restored_mid_ride_continues_like_the_original(case: Ride):
    ctx = context(case.zones(), case.settings)
    head, tail = case.halves()
    original = case.make()
    feed(original, head, ctx)
    snap = original.snapshot()
    assert case.carries(snap)
    assert loads(dumps(snap)) == snap  # plain JSON values only: no tuples, no non-str keys

    restored = type(original).restore(loads(dumps(snap)))
    assert restored.snapshot() == snap

    expected = feed(original, tail, ctx, close=True)
    assert feed(restored, tail, ctx, close=True) == expected
    # The carried state is what decides the rest of the ride: a fresh object would differ.
    assert feed(case.make(), tail, ctx, close=True) != expected
    assert restored.snapshot() == original.snapshot()


@ride_cases
def test_the_same_state_gives_the_same_bytes(case: Ride):
    ctx = context(case.zones(), case.settings)
    head, _ = case.halves()
    first, second = case.make(), case.make()
    feed(first, head, ctx)
    feed(second, head, ctx)
    raw = dumps(first.snapshot())
    assert dumps(second.snapshot()) == raw
    assert dumps(type(first).restore(loads(raw)).snapshot()) == raw


def test_zone_visits_are_stored_sorted_whatever_the_set_order():
    snap = RestrictedZoneDetector().snapshot()
    names = ["pedestrian street", "market lane", "bund", "xintiandi"]
    one = RestrictedZoneDetector.restore({**snap, "alerted_visits": names})
    other = RestrictedZoneDetector.restore({**snap, "alerted_visits": names[::-1]})
    assert dumps(one.snapshot()) == dumps(other.snapshot())
    assert one.snapshot()["alerted_visits"] == sorted(names)


def test_a_pending_tap_restores_as_an_equal_order_event():
    head, _ = RIDES["pending phone tap"].halves()
    original = PhoneUseDetector()
    feed(original, head, context())
    restored = PhoneUseDetector.restore(loads(dumps(original.snapshot())))
    # Private state on purpose: the rebuilt pydantic model itself must equal the consumed one.
    assert restored._pending == original._pending
    [(event, before)] = restored._pending
    assert isinstance(event, OrderEvent) and event.order_id == "o1" and before is not None


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_a_newer_version_is_refused(cls: type):
    snap = cls().snapshot()
    with pytest.raises(SnapshotError, match="newer"):
        cls.restore({**snap, "v": snap["v"] + 1})


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_another_kind_is_refused(cls: type):
    other = DETECTORS[(DETECTORS.index(cls) + 1) % len(DETECTORS)]
    with pytest.raises(SnapshotError, match="expected a"):
        cls.restore(other().snapshot())


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_a_snapshot_missing_a_field_is_refused(cls: type):
    snap = cls().snapshot()
    dropped = sorted(k for k in snap if k not in ("kind", "v"))[0]
    with pytest.raises(SnapshotError, match="malformed"):
        cls.restore({k: v for k, v in snap.items() if k != dropped})
