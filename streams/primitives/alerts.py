"""The one way a rider alert is built, by detectors and area judgements alike: its id derived
from the rider, the kind and what makes it unique, its message from the kind's template."""

from schemas import RiderAlert
from schemas.outputs import AlertKind, Severity
from streams.primitives.ids import derived_id
from streams.primitives.messages import message


def rider_alert(
    rider_id: str,
    kind: AlertKind,
    severity: Severity,
    ts: int,
    evidence: dict,
    *,
    identity: tuple,
    template: str | None = None,
    **message_values: object,
) -> RiderAlert:
    """`identity` is what makes this alert unique for the rider (e.g. an episode's start)."""
    return RiderAlert(
        alert_id=derived_id("alert", rider_id, kind, *identity),
        rider_id=rider_id,
        ts=ts,
        kind=kind,
        severity=severity,
        message=message(template or kind, **message_values),
        evidence=evidence,
    )
