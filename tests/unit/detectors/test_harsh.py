import math
import random

from streams.pipeline.processor import KnightwatchCore
from streams.primitives.geo import offset
from tests.builders import ORIGIN, T0, alerts, ping, ride, run_core


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


# -- under ordinary phone noise ------------------------------------------------------------
# Phone fixes wander 3-10 m and the error drifts: it is correlated over tens of seconds.


def _drifting_noise(rng: random.Random, sigma_m: float, n: int, correlation_s: float = 30.0
                    ) -> list[tuple[float, float]]:
    rho = math.exp(-1 / correlation_s)
    step = sigma_m * math.sqrt(1 - rho * rho)
    north, east = rng.gauss(0, sigma_m), rng.gauss(0, sigma_m)
    out = []
    for _ in range(n):
        out.append((north, east))
        north, east = rho * north + rng.gauss(0, step), rho * east + rng.gauss(0, step)
    return out


def _noisy_ride(seed: int, device_kmh: list[float], true_kmh: list[float]) -> list:
    """1 Hz pings whose device speed reads `device_kmh` while the rider moves at `true_kmh`."""
    rng = random.Random(seed)
    noise = _drifting_noise(rng, rng.uniform(3, 10), len(device_kmh))
    pings, travelled = [], 0.0
    for i, v in enumerate(device_kmh):
        if i:
            travelled += (true_kmh[i - 1] + true_kmh[i]) / 2 / 3.6
        lat, lon = offset(*ORIGIN, travelled + noise[i][0], noise[i][1])
        pings.append(ping(t_s=i, lat=lat, lon=lon, speed=v, heading=0))
    return pings


def _flagged(rides: list[list], kind: str) -> int:
    return sum(1 for pings in rides if alerts(run_core(pings), kind))


def test_clear_harsh_stops_under_drifting_phone_noise_are_found():
    stop = [24.0] * 20 + [3.0] + [0.0] * 15  # 24 -> 3 km/h in a second, then standing still
    assert _flagged([_noisy_ride(seed, stop, stop) for seed in range(100)],
                    "harsh_braking") >= 98


def test_a_wheel_sensor_reading_zero_under_the_same_noise_is_never_braking():
    device, moving = [24.0] * 20 + [0.0] * 16, [24.0] * 36
    assert _flagged([_noisy_ride(seed, device, moving) for seed in range(100)],
                    "harsh_braking") == 0


def test_a_one_second_sensor_blip_under_the_same_noise_is_neither_braking_nor_launch():
    device, moving = [24.0] * 20 + [0.0] + [24.0] * 15, [24.0] * 36
    rides = [_noisy_ride(seed, device, moving) for seed in range(100)]
    assert _flagged(rides, "harsh_braking") == 0
    assert _flagged(rides, "harsh_acceleration") == 0


def test_a_clear_stop_is_confirmed_by_the_fix_two_seconds_after_it():
    stop = [24.0] * 20 + [3.0] + [0.0] * 15
    core = KnightwatchCore()
    dated = [ts for p in _noisy_ride(0, stop, stop)[:24]
             for ts in [p.ts] if alerts(core.ingest(p), "harsh_braking")]
    assert dated == [T0 + 22_000]
