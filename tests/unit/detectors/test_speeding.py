from streams.config.thresholds import DetectionSettings
from tests.builders import alerts, deltas, ride, run_core


def test_clean_ride_at_18_kmh_with_gps_noise_and_no_device_speed_raises_nothing():
    pings = ride(duration_s=1800, speed_kmh=18, every_s=4, noise_m=4, device_speed=False,
                 device_heading=False, seed=3)
    out = run_core(pings)
    assert alerts(out) == []
    assert deltas(out) == []


def test_90_s_at_40_kmh_raises_one_alert_at_onset_and_one_delta_at_the_end():
    speeds = [18.0] * 10 + [40.0] * 23 + [18.0] * 10  # 23 pings 4 s apart: 88 s over the cap
    pings = ride(speed_kmh=speeds, duration_s=4 * 43, every_s=4)
    out = run_core(pings)
    [alert] = alerts(out, "speeding")
    # The reminder leaves at the first fix that makes the episode 10 s long: the 4th fast one.
    assert alert.ts == pings[13].ts
    assert alert.severity == "critical"  # 15 km/h over the 25 km/h cap
    assert alert.evidence["max_speed_kmh"] == 40.0
    assert alert.evidence["duration_s"] == 12.0
    assert alert.message.zh and alert.message.en
    # The score waits for the whole episode: settled at its last fast fix.
    [delta] = deltas(out)
    assert delta.ref == alert.alert_id and delta.delta < 0 and delta.score == 100 + delta.delta
    assert delta.ts == pings[32].ts
    assert delta.evidence["duration_s"] == 88.0 and delta.evidence["max_speed_kmh"] == 40.0
    assert delta.evidence["severity"] == "critical"


def test_an_episode_that_grows_critical_is_penalised_as_critical():
    speeds = [18.0] * 5 + [30.0] * 6 + [40.0] * 6 + [18.0] * 5
    out = run_core(ride(speed_kmh=speeds, duration_s=4 * 22, every_s=4))
    [alert] = alerts(out, "speeding")
    assert alert.severity == "warning"  # at onset the rider was 5 km/h over
    [delta] = deltas(out)
    assert delta.delta == -DetectionSettings().scoring.penalty_critical


def test_riding_at_the_cap_within_tolerance_is_lawful():
    out = run_core(ride(speed_kmh=[25.5, 26.0, 27.5, 25.7] * 50, duration_s=800, every_s=2))
    assert alerts(out, "speeding") == []


def test_a_short_burst_is_not_an_episode():
    speeds = [18.0] * 5 + [38.0, 38.0] + [18.0] * 5  # 4 s above the cap
    assert alerts(run_core(ride(speed_kmh=speeds, duration_s=44, every_s=4)), "speeding") == []


def test_moderate_excess_is_a_warning_and_cooldown_merges_close_episodes():
    speeds = [30.0] * 6 + [18.0] * 3 + [30.0] * 6 + [18.0] * 3
    out = run_core(ride(speed_kmh=speeds, duration_s=4 * 18, every_s=4))
    [alert] = alerts(out, "speeding")
    assert alert.severity == "warning"


def test_episodes_further_apart_than_the_cooldown_alert_separately():
    speeds = [32.0] * 6 + [18.0] * 40 + [32.0] * 6
    out = run_core(ride(speed_kmh=speeds, duration_s=4 * 52, every_s=4))
    assert len(alerts(out, "speeding")) == 2
    assert len({a.alert_id for a in alerts(out, "speeding")}) == 2


def test_tolerance_is_a_setting():
    settings = DetectionSettings.model_validate({"speeding": {"tolerance_kmh": 0}})
    out = run_core(ride(speed_kmh=27.0, duration_s=60), settings=settings)
    assert len(alerts(out, "speeding")) == 1
