"""Every rider detector, in the order a fix visits them: adding one is a module, its settings
and an entry here (with the alert kinds and message templates it uses, checked by a test).

A detector is plain state fed a rider's cleaned fixes (and, if it asks, order events) in
event-time order; it returns findings: alerts when a rule is met, closing records when an
episode whose reminder already went out ends."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, Self

from schemas import OrderEvent
from streams.detectors.base import Finding, RiderContext
from streams.detectors.fatigue import FatigueDetector
from streams.detectors.gps_hygiene import GpsCleaner
from streams.detectors.harsh import HarshManoeuvreDetector
from streams.detectors.phone_use import PhoneUseDetector
from streams.detectors.restricted_zone import RestrictedZoneDetector
from streams.detectors.severe_weather import SevereWeatherReminder
from streams.detectors.speeding import SpeedingDetector
from streams.detectors.wrong_way import WrongWayDetector
from streams.primitives.events import Ping
from streams.primitives.fix import Fix
from streams.primitives.snapshot import Snapshot, fields, versioned


class Detector(Protocol):
    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[Finding]: ...

    def close(self, ctx: RiderContext) -> list[Finding]: ...

    def snapshot(self) -> Snapshot: ...

    @classmethod
    def restore(cls, data: Snapshot) -> Self: ...


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    name: str  # its key in snapshots
    factory: Callable[[], Any]  # the detector class
    kinds: tuple[str, ...]  # alert kinds it raises
    templates: tuple[str, ...]  # message templates its alerts use
    order_events: bool = False  # also fed the rider's order events (on_order_event)
    # Its alerts are reminders; the score waits for the EpisodeClosed with the final severity.
    scored_at_close: bool = False


DETECTORS: tuple[DetectorSpec, ...] = (
    DetectorSpec("speeding", SpeedingDetector, ("speeding",), ("speeding",),
                 scored_at_close=True),
    DetectorSpec("harsh", HarshManoeuvreDetector,
                 ("harsh_braking", "harsh_acceleration", "harsh_cornering"),
                 ("harsh_braking", "harsh_acceleration", "harsh_cornering")),
    DetectorSpec("restricted_zone", RestrictedZoneDetector, ("restricted_zone",),
                 ("restricted_zone",)),
    DetectorSpec("wrong_way", WrongWayDetector, ("wrong_way",), ("wrong_way",)),
    DetectorSpec("phone_use", PhoneUseDetector, ("phone_use",), ("phone_use",),
                 order_events=True),
    DetectorSpec("fatigue", FatigueDetector, ("fatigue",),
                 ("fatigue_continuous", "fatigue_daily")),
    DetectorSpec("severe_weather", SevereWeatherReminder, ("severe_weather",),
                 ("severe_weather",), order_events=True),
)
_BY_NAME = {spec.name: spec for spec in DETECTORS}
SCORED_AT_CLOSE = frozenset(k for spec in DETECTORS if spec.scored_at_close for k in spec.kinds)
_ORDER_EVENT_INDEXES = tuple(i for i, spec in enumerate(DETECTORS) if spec.order_events)

KIND = "detectors"
VERSION = 1


class RiderDetectors:
    """GPS hygiene and every registered detector, for one rider."""

    __slots__ = ("all", "gps")

    def __init__(self, gps: GpsCleaner | None = None,
                 detectors: list[Detector] | None = None) -> None:
        self.gps = gps or GpsCleaner()
        self.all: list[Detector] = detectors or [spec.factory() for spec in DETECTORS]

    def get(self, name: str) -> Any:
        return self.all[DETECTORS.index(_BY_NAME[name])]

    def on_ping(self, ping: Ping, ctx: RiderContext) -> tuple[Fix | None, list[Finding]]:
        fix, anomaly = self.gps.clean(ping, ctx)
        found: list[Finding] = [anomaly] if anomaly is not None else []
        if fix is not None:
            for detector in self.all:
                result = detector.on_fix(fix, ctx)
                if result:
                    found.extend(result)
        return fix, found

    def on_order_event(self, event: OrderEvent, ctx: RiderContext) -> list[Finding]:
        found: list[Finding] = []
        for i in _ORDER_EVENT_INDEXES:
            found.extend(self.all[i].on_order_event(event, ctx))
        return found

    def close(self, ctx: RiderContext) -> list[Finding]:
        found: list[Finding] = []
        for detector in self.all:
            found.extend(detector.close(ctx))
        return found

    def snapshot(self) -> Snapshot:
        return versioned(KIND, VERSION, gps=self.gps.snapshot(),
                         detectors={spec.name: d.snapshot() for spec, d in zip(
                             DETECTORS, self.all, strict=True)})

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        saved = values["detectors"]
        # A detector added since the snapshot starts fresh; one removed is dropped.
        detectors = [spec.factory.restore(saved[spec.name]) if spec.name in saved  # type: ignore[attr-defined]
                     else spec.factory() for spec in DETECTORS]
        return cls(GpsCleaner.restore(values["gps"]), detectors)
