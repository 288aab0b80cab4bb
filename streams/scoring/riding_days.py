"""A rider's days, by the local calendar of their city: riding time, deliveries and penalised
alerts per day. What a safe riding day and the role-model period are judged from.

Days are fed in event-time order (the rider's reorder buffer), and a day is decided only once
it is final: its owner asks for `ready(until_ts)`, the days that ended by a time up to which
everything that could still bear on them (late records, open speeding episodes) is settled.
Decided days are kept for the role-model period and pruned beyond it, so memory follows the
rider's recent riding, not their whole history."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Self
from zoneinfo import ZoneInfo

from schemas.timestamps import MAX_OUTPUT_TS_MS, MIN_OUTPUT_TS_MS
from streams.config.cities import CitySettings
from streams.config.thresholds import Scoring
from streams.primitives.snapshot import Migration, Snapshot, fields, versioned

KIND = "scoring.riding_days"
VERSION = 1
MIGRATIONS: dict[int, Migration] = {}


def local_day(ts: int, zone: ZoneInfo) -> tuple[int, int, int]:
    """The local date of `ts` (its proleptic ordinal) and the epoch ms its day starts and ends
    at: from the zone's calendar, so a day with a daylight-saving change is 23 or 25 hours."""
    day = datetime.fromtimestamp(ts / 1000, zone).date()
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return day.toordinal(), int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def iso_date(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


@dataclass(slots=True)
class RidingDay:
    ordinal: int  # the local date, date.toordinal()
    start_ts: int
    end_ts: int
    riding_ms: int = 0
    deliveries: int = 0
    # Penalised alert ids, less those dismissed by a review dated before the day's end.
    penalised: list[str] = field(default_factory=list)
    decided: bool = False  # its safe-riding-day points were decided

    @property
    def date(self) -> str:
        return iso_date(self.ordinal)

    def is_safe(self, cfg: Scoring) -> bool:
        return not self.penalised and self.riding_ms >= cfg.safe_riding_day_min_riding_s * 1000

    def plain(self) -> list:
        return [self.ordinal, self.start_ts, self.end_ts, self.riding_ms, self.deliveries,
                list(self.penalised), self.decided]


class RidingDays:
    __slots__ = ("_latest", "days", "last_moving_ts", "new_ends")

    def __init__(self) -> None:
        self.days: dict[int, RidingDay] = {}  # by local date ordinal
        self.last_moving_ts: int | None = None
        self._latest: RidingDay | None = None  # the day last fed: most records fall in it
        self.new_ends: list[int] = []  # ends of days begun since the owner last took them

    def snapshot(self) -> Snapshot:
        return versioned(KIND, VERSION, days=[d.plain() for _, d in sorted(self.days.items())],
                         last_moving_ts=self.last_moving_ts)

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION, MIGRATIONS)
        days = cls()
        for o, start, end, riding, deliveries, penalised, decided in values["days"]:
            days.days[o] = RidingDay(o, start, end, riding, deliveries, list(penalised),
                                     decided)
        days.last_moving_ts = values["last_moving_ts"]
        return days

    def untouched(self) -> bool:
        return not self.days

    # -- what happened ---------------------------------------------------------------------

    def on_moving_fix(self, ts: int, max_interval_ms: int, cities: CitySettings,
                      city: str | None) -> None:
        """A fix at riding speed: the time since the previous one is riding, up to
        `max_interval_ms` (fatigue's rule). Riding across midnight counts towards the new day
        from midnight, as fatigue counts it."""
        last = self.last_moving_ts
        self.last_moving_ts = ts
        # No day begins without riding in it: a phone seen once leaves nothing to keep.
        if last is not None and 0 < ts - last <= max_interval_ms:
            day = self._day(ts, cities, city)
            day.riding_ms += ts - max(last, day.start_ts)

    def on_delivery(self, ts: int, cities: CitySettings, city: str | None) -> None:
        self._day(ts, cities, city).deliveries += 1

    def on_penalised(self, alert_id: str, ts: int, cities: CitySettings,
                     city: str | None) -> None:
        day = self._day(ts, cities, city)
        if alert_id not in day.penalised:
            day.penalised.append(alert_id)

    def on_dismissed(self, alert_id: str, ts: int) -> None:
        """A reviewer dismissed the alert at `ts`: it no longer counts against its day's points
        if the review is dated before the day ended. A later one may come before or after the
        day is decided, depending on which records arrived first; the role-model standing
        leaves it out all the same (it asks the score what was dismissed)."""
        for day in self.days.values():
            if ts < day.end_ts and alert_id in day.penalised:
                day.penalised.remove(alert_id)

    # -- deciding and forgetting -----------------------------------------------------------

    def take_new_ends(self) -> list[int]:
        """Ends of days begun since the last call: when the owner should decide them."""
        ends, self.new_ends = self.new_ends, []
        return ends

    def pending_ends(self) -> list[int]:
        return [d.end_ts for d in self.days.values() if not d.decided]

    def ready(self, until_ts: int) -> list[RidingDay]:
        """Undecided days that ended by `until_ts`, oldest first; the caller decides them."""
        return sorted((d for d in self.days.values() if not d.decided and d.end_ts <= until_ts),
                      key=lambda d: d.ordinal)

    def forget_before_period(self, period_days: int) -> None:
        """Decided days before the period that ends on the newest day known: no standing at a
        time on or after that day looks at them."""
        if not self.days:
            return
        first = max(self.days) - period_days + 1
        old = [o for o, d in self.days.items() if o < first and d.decided]
        for o in old:
            if self.days[o] is self._latest:
                self._latest = None
            del self.days[o]

    def in_period(self, at_ts: int, period_days: int, zone: ZoneInfo) -> list[RidingDay]:
        """The days of the `period_days` local days ending with the day of `at_ts`. A clock
        before or past every possible record (a core not started yet, or at the end of its
        input) stands for the first or last day a record may have."""
        at_ts = min(max(at_ts, MIN_OUTPUT_TS_MS), MAX_OUTPUT_TS_MS)
        today = local_day(at_ts, zone)[0]
        return [d for o, d in sorted(self.days.items()) if today - period_days < o <= today]

    def _day(self, ts: int, cities: CitySettings, city: str | None) -> RidingDay:
        """The day of `ts` in `city`'s zone (looked up only when another day begins)."""
        latest = self._latest
        if latest is not None and latest.start_ts <= ts < latest.end_ts:
            return latest
        ordinal, start, end = local_day(ts, cities.zone_of(city))
        day = self.days.get(ordinal)
        if day is None:
            day = self.days[ordinal] = RidingDay(ordinal, start, end)
            self.new_ends.append(end)
        self._latest = day
        return day
