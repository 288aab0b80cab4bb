"""What every detector shares: the rider it works for and how an alert is built."""

from dataclasses import dataclass, field

from schemas import RiderAlert
from schemas.outputs import AlertKind, Severity
from streams.area.congestion import CongestionMap
from streams.area.weather import WeatherBook
from streams.config.thresholds import DetectionSettings
from streams.primitives.alerts import rider_alert
from streams.primitives.zones import ZoneMap


@dataclass(frozen=True, slots=True)
class EpisodeClosed:
    """A rule whose reminder already went out has finished its episode: `alert` carries the
    final severity and evidence (peak, length). It is scored, not published again."""

    alert: RiderAlert


# What a detector reports for a fix or an order event.
Finding = RiderAlert | EpisodeClosed


@dataclass(frozen=True, slots=True)
class RiderContext:
    """What a rider's pipeline may consult besides its own state; never part of its snapshot."""

    rider_id: str
    settings: DetectionSettings
    zones: ZoneMap
    weather: WeatherBook = field(default=None)  # type: ignore[assignment]
    congestion: CongestionMap = field(default=None)  # type: ignore[assignment]


def build_alert(
    ctx: RiderContext,
    kind: AlertKind,
    severity: Severity,
    ts: int,
    evidence: dict,
    *,
    identity: tuple,
    template: str | None = None,
    **message_values: object,
) -> RiderAlert:
    """An alert about the context's rider (see `rider_alert`)."""
    return rider_alert(ctx.rider_id, kind, severity, ts, evidence, identity=identity,
                       template=template, **message_values)
