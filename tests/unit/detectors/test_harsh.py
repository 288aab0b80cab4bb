from streams.primitives.geo import offset
from tests.builders import alerts, ping, ride, run_core


def _braking_ride(drop_to: float, positions_follow: bool) -> list:
    """1 Hz: 20 s at 25 km/h, then a stop in 2 s, then (optionally) positions that agree."""
    pings, lat, lon = [], 31.23, 121.47
    speeds = [25.0] * 20 + [12.0, drop_to] + [drop_to] * 5
    for i, v in enumerate(speeds):
        if i:
            moved = (speeds[i - 1] + v) / 2 / 3.6 if positions_follow else 25 / 3.6
            lat, lon = offset(lat, lon, moved, 0)
        pings.append(ping(t_s=i, lat=lat, lon=lon, speed=v, heading=0))
    return pings


def test_a_real_emergency_stop_is_harsh_braking():
    [alert] = alerts(run_core(_braking_ride(0.0, positions_follow=True)), "harsh_braking")
    assert alert.evidence["accel_mps2"] <= -3.5
    assert alert.evidence["from_speed_kmh"] == 25.0


def test_a_wheel_sensor_dropout_is_not_braking():
    # The device reads 0 while the positions keep moving at 25 km/h (seen in real traces).
    assert alerts(run_core(_braking_ride(0.0, positions_follow=False)), "harsh_braking") == []


def test_gentle_braking_is_fine():
    speeds = [25.0] * 10 + [22.0, 19.0, 16.0, 13.0, 10.0, 7.0] + [5.0] * 5
    assert alerts(run_core(ride(speed_kmh=speeds, every_s=1, duration_s=21))) == []


def test_standing_still_noise_never_triggers():
    speeds = [0.0, 6.0, 0.0, 7.0, 0.5, 8.0, 0.0] * 5
    pings = ride(speed_kmh=speeds, every_s=1, duration_s=35, noise_m=2)
    assert alerts(run_core(pings)) == []


def test_harsh_acceleration_needs_agreeing_positions():
    speeds = [5.0] * 5 + [15.0, 25.0] + [25.0] * 10
    out = run_core(ride(speed_kmh=speeds, every_s=1, duration_s=17))
    [alert] = alerts(out, "harsh_acceleration")
    assert alert.evidence["accel_mps2"] >= 2.5


def test_harsh_cornering_from_device_heading():
    pings = ride(speed_kmh=22, every_s=1, duration_s=20, heading_deg=0)
    turned = [p.model_copy(update={"heading_deg": 90.0}) for p in pings[10:]]
    [alert] = alerts(run_core(pings[:10] + turned), "harsh_cornering")
    assert alert.evidence["turn_deg"] == 90.0


def test_cornering_needs_device_heading():
    pings = ride(speed_kmh=22, every_s=1, duration_s=20, device_heading=False, noise_m=4)
    assert alerts(run_core(pings), "harsh_cornering") == []
