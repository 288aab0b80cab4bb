"""What the core hands back to its wiring: a logical output stream, a key and a typed value."""

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

OutputStream = Literal["alerts", "deltas", "exemptions", "subsidies", "area_risk", "dead_letters",
                       "area_progress"]


@dataclass(frozen=True, slots=True)
class Emission:
    stream: OutputStream
    key: str | None
    value: BaseModel  # or, for the fleet-internal area_progress, an AreaProgress
