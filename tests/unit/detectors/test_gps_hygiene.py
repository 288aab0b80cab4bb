from streams.primitives.geo import offset
from tests.builders import alerts, deltas, ping, ride, run_core


def test_one_jumped_fix_never_raises_speeding():
    pings = ride(speed_kmh=18, duration_s=120, every_s=1, device_speed=False, device_heading=False)
    far = offset(pings[60].lat, pings[60].lon, 400, 0)
    pings[60] = ping(t_s=60, lat=far[0], lon=far[1])
    out = run_core(pings)
    assert alerts(out, "speeding") == []
    [anomaly] = alerts(out, "gps_anomaly")
    assert anomaly.severity == "info" and anomaly.evidence["jump_m"] > 390
    assert deltas(out) == []


def test_inaccurate_fixes_are_dropped():
    pings = ride(speed_kmh=18, duration_s=60, every_s=4, device_speed=False)
    bad = offset(pings[5].lat, pings[5].lon, 0, 150)
    pings[5] = ping(t_s=20, lat=bad[0], lon=bad[1], accuracy=120)
    assert alerts(run_core(pings)) == []


def test_track_relocates_after_consistent_fixes_without_speeding():
    first = ride(speed_kmh=15, duration_s=60, every_s=2, device_speed=False)
    moved_start = offset(first[-1].lat, first[-1].lon, 800, 0)
    second = ride(start_s=62, start=moved_start, speed_kmh=15, duration_s=60, every_s=2,
                  device_speed=False)
    out = run_core(first + second)
    assert alerts(out, "speeding") == []
    assert len(alerts(out, "gps_anomaly")) == 1


def test_gps_anomaly_alerts_are_rate_limited():
    pings = ride(speed_kmh=18, duration_s=300, every_s=1, device_speed=False)
    for i in (50, 100, 150):
        far = offset(pings[i].lat, pings[i].lon, 300, 0)
        pings[i] = ping(t_s=i, lat=far[0], lon=far[1])
    assert len(alerts(run_core(pings), "gps_anomaly")) == 1
