"""Severe weather: remind a moving rider once per warning in force for their city."""

from typing import Self

from schemas import OrderEvent
from streams.detectors.base import Finding, RiderContext, build_alert
from streams.primitives.fix import Fix
from streams.primitives.messages import CONDITION_ZH, LEVEL_ZH
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "detector.severe_weather"
VERSION = 1
# Warnings are remembered per rider only this many at a time: older ones are over.
_MAX_REMEMBERED = 64


class SevereWeatherReminder:
    __slots__ = ("alerted", "city")

    def __init__(self) -> None:
        self.city: str | None = None  # the rider's city, from fixes and order events
        self.alerted: dict[str, str] = {}  # warning_id -> the alert that told the rider

    def on_order_event(self, event: OrderEvent, ctx: RiderContext) -> list[Finding]:
        if event.city:
            self.city = event.city
        return []

    def on_fix(self, fix: Fix, ctx: RiderContext) -> list[Finding]:
        if fix.city:
            self.city = fix.city
        if fix.speed_kmh is None or fix.speed_kmh < ctx.settings.fatigue.moving_speed_kmh:
            return []
        warning = ctx.weather.severe_at(self.city, fix.ts)
        if warning is None or warning.warning_id in self.alerted:
            return []
        evidence = {"city": warning.city, "warning_level": warning.level,
                    "condition": warning.condition, "issued_ts": warning.issued_ts,
                    "until_ts": warning.until_ts, "temperature_c": warning.temperature_c}
        alert = build_alert(
            ctx, "severe_weather", "info", fix.ts, evidence, identity=(warning.warning_id,),
            city=warning.city, level_zh=LEVEL_ZH[warning.level], level_en=warning.level.title(),
            condition_zh=CONDITION_ZH[warning.condition],
            condition_en=warning.condition.replace("_", " "))
        if len(self.alerted) >= _MAX_REMEMBERED:
            self.alerted = {}
        self.alerted[warning.warning_id] = alert.alert_id
        return [alert]

    def close(self, ctx: RiderContext) -> list[Finding]:
        return []

    def snapshot(self) -> Snapshot:
        return versioned(KIND, VERSION, city=self.city, alerted=self.alerted)

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        reminder = cls()
        reminder.city = values["city"]
        reminder.alerted = dict(values["alerted"])
        return reminder
