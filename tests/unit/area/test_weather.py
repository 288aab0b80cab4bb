import random

from streams.area.weather import WeatherBook
from streams.config.thresholds import Weather
from tests.builders import T0, alerts, by_time, ride, run_core, weather


def test_one_severe_weather_alert_per_warning_not_per_ping():
    events = by_time([weather(0, minutes=30), weather(1200, minutes=30),  # a re-issue
                      *ride(duration_s=2400, every_s=4)])
    [alert] = alerts(run_core(events), "severe_weather")
    assert alert.severity == "info"
    assert "slow down" in alert.message.en and "减速" in alert.message.zh
    assert alert.message.zh.startswith("上海发布橙色预警（暴雨）")
    assert alert.message.en.startswith("Orange weather warning in Shanghai (rainstorm)")
    assert alert.evidence["warning_level"] == "orange"
    assert alert.evidence["city"] == "shanghai"  # evidence keeps the id, for machines


def test_a_new_warning_alerts_again_and_mild_weather_never():
    events = by_time([weather(0, level="yellow", condition="rain", minutes=20),
                      weather(1200, level="red", condition="typhoon", minutes=20),
                      *ride(duration_s=2400, every_s=4)])
    [alert] = alerts(run_core(events), "severe_weather")
    assert alert.evidence["warning_level"] == "red"


def test_weather_in_another_city_does_not_apply():
    events = by_time([weather(0, city="beijing"), *ride(duration_s=600)])
    assert alerts(run_core(events)) == []


def test_lookup_by_event_time():
    book = WeatherBook(Weather())
    book.add(weather(0, minutes=10))
    assert book.severe_at("shanghai", T0 + 60_000) is not None
    assert book.severe_at("shanghai", T0 + 11 * 60_000) is None
    assert book.severe_at("shanghai", T0 - 1) is None
    assert not book.add(weather(0, minutes=10))  # exact duplicate


def test_weather_arriving_a_day_ahead_of_the_fixes_is_still_applied():
    # A backlog of GPS consumed behind the weather topic: a day of reports arrives first.
    reports = [weather(h * 3600, minutes=60) for h in range(30)]
    fixes = ride(duration_s=600, every_s=4)
    [alert] = alerts(run_core([*reports, *fixes]), "severe_weather")
    assert alert.evidence["issued_ts"] == T0


def test_severe_at_answers_as_a_fresh_book_whatever_order_queries_and_reports_come_in():
    # severe_at remembers its last answer per city for the span it holds: reports added
    # later (behind or ahead of it), and queries going back in time, must not see a stale one.
    rng = random.Random(7)
    levels = [("orange", "rainstorm"), ("yellow", "rain"), ("red", "typhoon")]
    for _ in range(200):
        book = WeatherBook(Weather())
        reports = []
        for _step in range(12):
            if rng.random() < 0.4:
                level, condition = rng.choice(levels)
                report = weather(rng.randrange(0, 7200), level=level, condition=condition,
                                 minutes=rng.choice([5, 20, 60]))
                book.add(report)
                reports.append(report)
            ts = T0 + rng.randrange(-600, 9000) * 1000
            fresh = WeatherBook(Weather())
            for report in reports:
                fresh.add(report)
            assert book.severe_at("shanghai", ts) == fresh.severe_at("shanghai", ts)
