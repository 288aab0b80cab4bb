"""A rider's days by their city's calendar: riding, deliveries and penalised alerts per local
day, days decided once they have ended, and only the role-model period kept."""

from zoneinfo import ZoneInfo

from streams.config.cities import CitySettings
from streams.config.thresholds import Scoring
from streams.scoring.riding_days import RidingDays, iso_date, local_day
from tests.builders import T0

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAX_INTERVAL_MS = 120_000
MIDNIGHT = T0 + 14 * HOUR_MS  # T0 is 10:00 in Shanghai


CITIES = CitySettings()  # Asia/Shanghai

def _ride(days: RidingDays, start_ts: int, minutes: int) -> None:
    for i in range(minutes + 1):
        days.on_moving_fix(start_ts + i * 60_000, MAX_INTERVAL_MS, CITIES, None)


def test_a_local_day_runs_from_midnight_to_midnight_in_the_city_zone():
    ordinal, start, end = local_day(T0, SHANGHAI)
    assert iso_date(ordinal) == "2026-07-15"
    assert (start, end) == (MIDNIGHT - DAY_MS, MIDNIGHT)


def test_a_day_with_a_daylight_saving_change_is_as_long_as_the_calendar_says():
    dublin = ZoneInfo("Europe/Dublin")
    spring = 1_774_699_200_000  # 2026-03-28T12:00Z; clocks go forward on 29 March
    _, start, end = local_day(spring + DAY_MS, dublin)
    assert end - start == 23 * HOUR_MS


def test_riding_time_adds_up_per_day_and_a_gap_longer_than_the_interval_is_not_riding():
    days = RidingDays()
    _ride(days, T0, 30)
    _ride(days, T0 + HOUR_MS, 10)  # an hour's pause counts for nothing
    [day] = days.days.values()
    assert day.riding_ms == 40 * 60_000


def test_riding_across_midnight_counts_towards_the_new_day_from_midnight():
    days = RidingDays()
    _ride(days, MIDNIGHT - 10 * 60_000 - 30_000, 20)
    before, after = sorted(days.days.values(), key=lambda d: d.ordinal)
    assert (before.riding_ms, after.riding_ms) == (10 * 60_000, 9 * 60_000 + 30_000)


def test_a_single_fix_begins_no_day():
    days = RidingDays()
    days.on_moving_fix(T0, MAX_INTERVAL_MS, CITIES, None)
    assert days.untouched() and days.take_new_ends() == []


def test_a_day_is_safe_with_enough_riding_and_no_penalised_alert_left_undismissed():
    cfg = Scoring(safe_riding_day_min_riding_s=1200)
    days = RidingDays()
    _ride(days, T0, 20)
    [day] = days.days.values()
    assert day.is_safe(cfg)
    days.on_penalised("alert-1", T0 + 60_000, CITIES, None)
    assert not day.is_safe(cfg)
    days.on_dismissed("alert-1", MIDNIGHT)  # dated after the day: its points stay decided
    assert not day.is_safe(cfg)
    days.on_dismissed("alert-1", MIDNIGHT - 1)
    assert day.is_safe(cfg)
    assert not day.is_safe(Scoring(safe_riding_day_min_riding_s=1260))


def test_a_day_is_ready_once_it_has_ended_and_its_end_is_handed_out_once():
    days = RidingDays()
    _ride(days, T0, 5)
    assert days.take_new_ends() == [MIDNIGHT]
    assert days.take_new_ends() == []
    assert days.ready(MIDNIGHT - 1) == []
    [day] = days.ready(MIDNIGHT)
    day.decided = True
    assert days.ready(MIDNIGHT + DAY_MS) == [] and days.pending_ends() == []


def test_decided_days_before_the_period_are_forgotten_and_the_period_ends_with_the_day_asked():
    days = RidingDays()
    for d in range(40):
        days.on_delivery(T0 + d * DAY_MS, CITIES, None)
    for day in days.ready(T0 + 39 * DAY_MS):
        day.decided = True  # all but the newest
    days.forget_before_period(30)
    assert len(days.days) == 30
    assert len(days.in_period(T0 + 39 * DAY_MS, 30, SHANGHAI)) == 30
    assert len(days.in_period(T0 + 45 * DAY_MS, 30, SHANGHAI)) == 24


def test_days_restored_from_their_snapshot_go_on_where_they_stood():
    days = RidingDays()
    _ride(days, T0, 10)
    days.on_delivery(T0 + 60_000, CITIES, None)
    days.on_penalised("alert-1", T0, CITIES, "shanghai")
    restored = RidingDays.restore(days.snapshot())
    assert restored.snapshot() == days.snapshot()
    restored.on_moving_fix(T0 + 11 * 60_000, MAX_INTERVAL_MS, CITIES, None)
    assert next(iter(restored.days.values())).riding_ms == 11 * 60_000


def test_a_clock_before_or_past_every_record_asks_for_the_first_or_last_possible_day():
    days = RidingDays()
    days.on_delivery(T0, CITIES, None)
    assert days.in_period(2**62, 30, SHANGHAI) == []
    assert days.in_period(-(2**62), 30, SHANGHAI) == []
