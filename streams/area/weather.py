"""The weather in force per city, as a history queried by event time."""

import bisect
from dataclasses import dataclass
from typing import Any, Self

from schemas import WeatherEvent
from streams.config.thresholds import Weather
from streams.primitives.ids import derived_id
from streams.primitives.snapshot import Migration, Snapshot, fields, versioned

KIND = "area.weather_book"
VERSION = 1
MIGRATIONS: dict[int, Migration] = {}

# Weather older than this (event time) is forgotten: no order or ride looks further back.
_RETENTION_MS = 24 * 3_600_000
_FOREVER = 2**63


@dataclass(frozen=True, slots=True)
class SevereWeather:
    """A severe warning in force; re-issues of the same level and condition are one warning."""

    warning_id: str
    city: str
    level: str
    condition: str
    issued_ts: int
    until_ts: int
    temperature_c: float | None


def is_severe(event: WeatherEvent, rules: Weather) -> bool:
    return (
        event.warning_level in rules.severe_levels
        or event.condition in rules.severe_conditions
        or (event.temperature_c is not None and event.temperature_c >= rules.heat_c)
    )


def _entry(event: WeatherEvent) -> tuple[int, tuple, WeatherEvent]:
    # Ordered by time, then by the full report, so an exact re-send is found as a duplicate.
    return (event.ts, (event.model_dump_json(),), event)


class WeatherBook:
    def __init__(self, rules: Weather) -> None:
        self.rules = rules
        self._by_city: dict[str, list[tuple[int, tuple, WeatherEvent]]] = {}
        # Per city, the last `severe_at` answer and the span of time [from, to) it holds for:
        # every fix asks, nearly always within the span the previous fix fell in.
        self._severe_spans: dict[str, tuple[int, int, SevereWeather | None]] = {}

    def snapshot(self) -> Snapshot:
        # Only the reports: each entry's sort key is derived from its report, and the rules
        # are settings, given again on restore.
        return versioned(KIND, VERSION, by_city={
            city: [event.model_dump(mode="json") for _, _, event in history]
            for city, history in sorted(self._by_city.items())
        })

    @classmethod
    def restore(cls, data: dict[str, Any], rules: Weather) -> Self:
        """Severity is judged by `rules`, the settings in force now."""
        values = fields(data, KIND, VERSION, MIGRATIONS)
        book = cls(rules)
        for city, reports in values["by_city"].items():
            # Stored in history order, which is the (ts, key) order `add` keeps.
            book._by_city[city] = [
                _entry(event) for event in map(WeatherEvent.model_validate, reports)]
        return book

    def add(self, event: WeatherEvent) -> bool:
        """Record a weather event; False for an exact duplicate."""
        history = self._by_city.setdefault(event.city, [])
        entry = _entry(event)
        i = bisect.bisect_left(history, entry[:2], key=lambda e: e[:2])
        if i < len(history) and history[i][:2] == entry[:2]:
            return False
        history.insert(i, entry)
        self._severe_spans.pop(event.city, None)
        return True

    def forget_before(self, processed_until: int) -> None:
        """Drop reports no ride or order can still look up. Driven by processed event time, not
        by the newest report: weather may arrive well ahead of the fixes it applies to."""
        horizon = processed_until - _RETENTION_MS
        for history in self._by_city.values():
            # Keep the last report before the horizon: it may still be in force after it.
            while len(history) > 1 and history[1][0] < horizon:
                history.pop(0)
        self._severe_spans.clear()

    def in_force(self, city: str | None, ts: int) -> WeatherEvent | None:
        """The latest report issued at or before ts that is still valid at ts."""
        history = self._by_city.get(city or "")
        if not history:
            return None
        i = bisect.bisect_right(history, ts, key=lambda e: e[0])
        if i == 0:
            return None
        event = history[i - 1][2]
        return event if event.valid_until > ts else None  # type: ignore[operator]

    def severe_at(self, city: str | None, ts: int) -> SevereWeather | None:
        key = city or ""
        span = self._severe_spans.get(key)
        if span is not None and span[0] <= ts < span[1]:
            return span[2]
        history = self._by_city.get(key)
        if not history:
            return None
        i = bisect.bisect_right(history, ts, key=lambda e: e[0])
        # The answer holds until the next report, and from the latest one's expiry on.
        until = history[i][0] if i < len(history) else _FOREVER
        if i == 0:
            span = (-_FOREVER, until, None)
        else:
            event = history[i - 1][2]
            valid_until: int = event.valid_until  # type: ignore[assignment]
            if valid_until <= ts:
                span = (valid_until, until, None)
            else:
                warning = self._warning(event) if is_severe(event, self.rules) else None
                span = (history[i - 1][0], min(until, valid_until), warning)
        self._severe_spans[key] = span
        return span[2]

    def severe_during(self, city: str | None, start: int, end: int) -> list[SevereWeather]:
        """Every severe warning in force at some moment of [start, end]."""
        history = self._by_city.get(city or "")
        if not history:
            return []
        found: dict[str, SevereWeather] = {}
        first = self.in_force(city, start)
        candidates = [first] if first is not None else []
        lo = bisect.bisect_right(history, start, key=lambda e: e[0])
        hi = bisect.bisect_right(history, end, key=lambda e: e[0])
        candidates += [e[2] for e in history[lo:hi]]
        for event in candidates:
            if is_severe(event, self.rules):
                warning = self._warning(event)
                found.setdefault(warning.warning_id, warning)
        return list(found.values())

    def _warning(self, event: WeatherEvent) -> SevereWeather:
        # Walk back over re-issues that continue the same warning without a gap, so a warning
        # re-sent every 10 minutes is one warning with one id.
        history = self._by_city[event.city]
        i = bisect.bisect_left(history, event.ts, key=lambda e: e[0])
        first = event
        while i > 0:
            prev = history[i - 1][2]
            if (prev.warning_level, prev.condition) != (first.warning_level, first.condition):
                break
            if prev.valid_until < first.ts:  # type: ignore[operator]
                break
            first = prev
            i -= 1
        return SevereWeather(
            warning_id=derived_id("weather", event.city, first.ts, first.warning_level,
                                  first.condition),
            city=event.city, level=event.warning_level, condition=event.condition,
            issued_ts=first.ts, until_ts=event.valid_until,  # type: ignore[arg-type]
            temperature_c=event.temperature_c,
        )
