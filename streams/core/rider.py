"""Everything Knightwatch keeps about one rider, fed that rider's events in event-time order."""

from schemas import AlertReview, GpsPing, OrderEvent, RiderAlert
from streams.core.emissions import Emission
from streams.detectors.base import RiderContext
from streams.detectors.fatigue import FatigueDetector
from streams.detectors.gps_hygiene import GpsCleaner
from streams.detectors.harsh import HarshManoeuvreDetector
from streams.detectors.phone_use import PhoneUseDetector
from streams.detectors.restricted_zone import RestrictedZoneDetector
from streams.detectors.speeding import SpeedingDetector
from streams.detectors.wrong_way import WrongWayDetector
from streams.scoring.safety_score import SafetyScore


class RiderPipeline:
    """Hygiene, then every detector, then the score. Holds only data, so it pickles small."""

    __slots__ = (
        "fatigue",
        "gps",
        "harsh",
        "phone_use",
        "rider_id",
        "score",
        "speeding",
        "wrong_way",
        "zones",
    )

    def __init__(self, ctx: RiderContext) -> None:
        self.rider_id = ctx.rider_id
        self.gps = GpsCleaner()
        self.speeding = SpeedingDetector()
        self.harsh = HarshManoeuvreDetector()
        self.zones = RestrictedZoneDetector()
        self.wrong_way = WrongWayDetector()
        self.phone_use = PhoneUseDetector()
        self.fatigue = FatigueDetector()
        self.score = SafetyScore(ctx.rider_id, ctx.settings.scoring)

    def _fix_detectors(self) -> tuple:
        return (self.speeding, self.harsh, self.zones, self.wrong_way, self.phone_use,
                self.fatigue)

    def on_ping(self, ping: GpsPing, ctx: RiderContext) -> list[Emission]:
        fix, anomaly = self.gps.clean(ping, ctx)
        alerts: list[RiderAlert] = [anomaly] if anomaly is not None else []
        if fix is not None:
            for detector in self._fix_detectors():
                alerts.extend(detector.on_fix(fix, ctx))
        return self._publish(alerts, ctx) if alerts else []

    def on_order_event(self, event: OrderEvent, ctx: RiderContext) -> list[Emission]:
        alerts = self.phone_use.on_order_event(event, ctx)
        return self._publish(alerts, ctx) if alerts else []

    def on_review(self, review: AlertReview, ctx: RiderContext) -> list[Emission]:
        return []

    def close(self, ctx: RiderContext) -> list[Emission]:
        alerts: list[RiderAlert] = []
        for detector in self._fix_detectors():
            alerts.extend(detector.close(ctx))
        return self._publish(alerts, ctx)

    def _publish(self, alerts: list[RiderAlert], ctx: RiderContext) -> list[Emission]:
        out: list[Emission] = []
        for alert in alerts:
            out.append(Emission("alerts", alert.rider_id, alert))
            delta = self.score.on_alert(alert, ctx.settings.scoring)
            if delta is not None:
                out.append(Emission("deltas", delta.rider_id, delta))
        return out
