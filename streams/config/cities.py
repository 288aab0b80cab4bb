"""Where each city keeps its clocks: the time zone whose calendar days a city's riders are
judged by (safe riding days, the role-model period) and whose times people reviewing its riders
read."""

from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

# Mainland China keeps one time zone with no daylight saving, and Knightwatch's fleets ride there.
DEFAULT_TIME_ZONE = "Asia/Shanghai"


class CitySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default_time_zone: str = Field(
        DEFAULT_TIME_ZONE, description="IANA time zone of a city not listed in time_zones, and "
        "of a rider whose city is not known. Mainland China keeps one zone (China Standard "
        "Time, UTC+8, no daylight saving), where the fleets ride.")
    time_zones: dict[str, str] = Field(
        {}, description="City id -> IANA time zone, for cities outside "
        "default_time_zone, e.g. `{\"dublin\": \"Europe/Dublin\"}` (as JSON in the "
        "environment). A rider's safe riding days and role-model period are the calendar days "
        "of their city's zone; times shown to people (`knightwatch rider`, the demo) are in "
        "it, with the zone named.")

    @model_validator(mode="after")
    def _zones_exist(self) -> Self:
        # A misspelt zone would otherwise surface only when that city's first day ends. Raised
        # as a settings conflict (thresholds.conflict's error type, not imported: thresholds
        # imports this module).
        for city, name in [("default_time_zone", self.default_time_zone),
                           *self.time_zones.items()]:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory
                raise PydanticCustomError(
                    "settings_conflict", f"{city}: {name!r} is not an IANA time zone (e.g. "
                    f"{DEFAULT_TIME_ZONE})") from None
        return self

    def zone_of(self, city: str | None) -> ZoneInfo:
        """The zone of `city` (an id as inputs spell it); the default zone when unknown."""
        if city is not None:
            name = self.time_zones.get(city) or self.time_zones.get(city.strip().lower())
            if name:
                return ZoneInfo(name)
        return ZoneInfo(self.default_time_zone)
