from tests.builders import alerts, deltas, ride, run_core


def _shift(hours: float, *, start_s: float = 0, every_s: float = 30) -> list:
    return ride(start_s=start_s, duration_s=hours * 3600, every_s=every_s, speed_kmh=16,
                heading_deg=0)


def test_more_than_four_hours_without_a_break_warns_once():
    out = run_core(_shift(4.5))
    [alert] = alerts(out, "fatigue")
    assert alert.severity == "warning" and alert.evidence["rule"] == "continuous"
    assert deltas(out) == []  # a reminder, never a penalty


def test_a_twenty_minute_break_resets_continuous_riding():
    pings = _shift(3) + _shift(3, start_s=3 * 3600 + 25 * 60)
    assert alerts(run_core(pings), "fatigue") == []


def test_more_than_eight_hours_in_a_day_is_critical():
    pings = []
    start = 0.0
    for _ in range(3):  # three 3 h blocks with 30 min breaks = 9 h riding
        pings += _shift(3, start_s=start)
        start += 3.5 * 3600
    out = run_core(pings)
    kinds = [(a.severity, a.evidence["rule"]) for a in alerts(out, "fatigue")]
    assert kinds == [("critical", "daily")]
