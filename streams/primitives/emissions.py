"""What the core hands back to its wiring: a logical output stream, a key and a typed value."""

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from schemas import AreaRiskChange, RiderAlert

OutputStream = Literal["alerts", "deltas", "exemptions", "subsidies", "points", "area_risk",
                       "dead_letters", "area_progress"]


@dataclass(frozen=True, slots=True)
class Emission:
    stream: OutputStream
    key: str | None
    value: BaseModel  # or, for the fleet-internal area_progress, an AreaProgress


def area_emissions(values: list[AreaRiskChange | RiderAlert]) -> list[Emission]:
    """What a congestion judgement says: area-risk changes by cell, alerts by rider."""
    return [Emission("alerts", v.rider_id, v) if isinstance(v, RiderAlert)
            else Emission("area_risk", v.cell, v) for v in values]
