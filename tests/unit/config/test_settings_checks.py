"""Settings are checked alone and against each other at start: each contradiction is a message
naming the settings, and exit status 2 from the command line."""

import pytest

from streams.cli import main
from streams.config.settings import SettingsError, load_settings


def test_the_defaults_hold_together():
    load_settings()


def test_one_tier_privilege_changes_that_privilege_alone(monkeypatch):
    monkeypatch.setenv("KNIGHTWATCH_DETECTION__SCORING__PRIVILEGES_C__MAX_CONCURRENT_ORDERS", "1")
    c = load_settings().detection.scoring.privileges_c
    assert c.max_concurrent_orders == 1 and c.order_classes == ("standard",)
    assert c.refresher_course


def _toml(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _config(tmp_path, settings: dict[str, dict[str, object]]):
    """A TOML config file of {table: {key: value}}."""
    text = "".join(f"[{table}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in values.items())
                   for table, values in settings.items())
    path = tmp_path / "kw.toml"
    path.write_text(text, encoding="utf-8")
    return path


# (settings, the message on stderr): each pair of settings that cannot both hold.
CONTRADICTIONS = [
    ({"detection.congestion": {"congested_ratio": 0.8, "clear_ratio": 0.7}},
     "bad settings detection.congestion (env KNIGHTWATCH_DETECTION__CONGESTION__*): "
     "congested_ratio (0.8) is above clear_ratio (0.7): a congested cell would clear while "
     "still congested"),
    ({"detection.scoring": {"tier_b_min": 95}},
     "bad settings detection.scoring (env KNIGHTWATCH_DETECTION__SCORING__*): tier thresholds "
     "must rise within 0..max_score (100): tier_c_min (60) < tier_b_min (95) < tier_a_min (90)"),
    ({"detection.scoring": {"tier_a_min": 120}}, "tier_b_min (75) < tier_a_min (120)"),
    ({"detection.scoring": {"tier_c_min": -5}}, "tier_c_min (-5) < tier_b_min (75)"),
    ({"detection.scoring": {"max_score": 80}}, "within 0..max_score (80)"),
    ({"detection.scoring": {"start_score": 500}},
     "bad settings detection.scoring (env KNIGHTWATCH_DETECTION__SCORING__*): start_score (500) "
     "must be within 0..max_score (100)"),
    ({"detection.scoring": {"penalty_warning": 10}},
     "penalty_critical (8) is below penalty_warning (10)"),
    ({"detection.scoring": {"late_penalty": 5}}, "late_penalty_long (4) is below late_penalty (5)"),
    ({"detection.speeding": {"min_duration_s": 400}},
     "min_duration_s (400) is above max_episode_s (300): no episode would ever be reported"),
    ({"detection.speeding": {"tolerance_kmh": 12}},
     "critical_excess_kmh (10) is not above tolerance_kmh (12): every speeding alert would be "
     "critical"),
    ({"detection.gps": {"derived_speed_min_span_s": 90}},
     "derived_speed_min_span_s (90) is above derived_speed_max_span_s (60)"),
    ({"detection.fatigue": {"max_interval_s": 1500}},
     "max_interval_s (1500) is above break_min_s (1200): a gap would count as riding and as a "
     "rest"),
    ({"detection.weather": {"severe_levels": ("Orange", "red")}},
     "severe_levels: 'Orange' not among blue, yellow, orange, red"),
    ({"detection.weather": {"severe_conditions": ("snowstorm",)}},
     "severe_conditions: 'snowstorm' not among clear"),
    ({"detection.wrong_way": {"match_distance_m": 500}},
     "bad setting detection.wrong_way.match_distance_m (env "
     "KNIGHTWATCH_DETECTION__WRONG_WAY__MATCH_DISTANCE_M): Input should be less than or equal "
     "to 200"),
    ({"detection.role_models": {"period_days": 60}},
     "bad settings detection (env KNIGHTWATCH_DETECTION__*): role_models.period_days (60) is "
     "above scoring.memory_days (30): alerts dismissed earlier in the period would count again"),
    ({"detection.cities": {"default_time_zone": "Asia/Shanghia"}},
     "bad settings detection.cities (env KNIGHTWATCH_DETECTION__CITIES__*): "
     "default_time_zone: 'Asia/Shanghia' is not an IANA time zone (e.g. Asia/Shanghai)"),
    ({"detection.cities": {"default_time_zone": "Asia"}}, "'Asia' is not an IANA time zone"),
    ({"topics": {"orders": "rider-gps"}},
     "bad settings topics (env KNIGHTWATCH_TOPICS__*): gps and orders are both 'rider-gps': "
     "every topic needs its own name"),
    ({"topics": {"alerts": "rider-gps"}}, "gps and alerts are both 'rider-gps'"),
    ({"topics": {"dead_letters": "rider-alerts"}}, "alerts and dead_letters are both"),
    ({"topics": {"rider_state": "knightwatch-area-state"}}, "rider_state and area_state are both"),
    ({"topics": {"gps": "rider gps"}},
     "gps topic 'rider gps' is not a Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)"),
    ({"topics": {"deltas": ""}}, "deltas topic '' is not a Kafka topic name"),
    ({"kafka": {"security_protocol": "SASL_SSL"}},
     "bad settings kafka (env KNIGHTWATCH_KAFKA__*): security_protocol SASL_SSL needs "
     "sasl_mechanism, sasl_username and sasl_password"),
    ({"kafka": {"sasl_mechanism": "PLAIN"}},
     "SASL settings are given but security_protocol is PLAINTEXT, which does not use them"),
    ({"kafka": {"ssl_cafile": "/etc/ca.pem"}},
     "ssl_cafile given but security_protocol is PLAINTEXT, which does not use TLS"),
    ({"kafka": {"security_protocol": "SSL", "ssl_keyfile": "/etc/k.pem"}},
     "ssl_keyfile is given without ssl_certfile"),
    ({"detection.scoring.privileges_c": {"order_classes": ("standard", "premium")}},
     "bad settings detection.scoring (env KNIGHTWATCH_DETECTION__SCORING__*): privileges_c "
     "allow more than the tier above them"),
    ({"detection.scoring.privileges_d": {"order_classes": ("standard",),
                                         "max_concurrent_orders": 1}},
     "privileges_d must allow no orders"),
    ({"detection.scoring.privileges_b": {"max_concurrent_orders": 0}},
     "must both allow orders or both allow none"),
    ({"serving": {"position_interval_s": 40}},
     "bad settings serving (env KNIGHTWATCH_SERVING__*): position_ttl_s (60) must be at "
     "least twice position_interval_s (40.0)"),
]


@pytest.mark.parametrize(("settings", "message"), CONTRADICTIONS,
                         ids=[m[:40] for _, m in CONTRADICTIONS])
def test_each_contradiction_stops_the_replay_with_status_2(tmp_path, capsys, settings, message):
    src = tmp_path / "in.jsonl"
    src.write_text("")
    assert main(["replay", str(src), "--config", str(_config(tmp_path, settings))]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("knightwatch: bad setting") and err.count("\n") == 1


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_every_float_setting_must_be_finite(tmp_path, capsys, monkeypatch, value):
    config = tmp_path / "kw.toml"
    config.write_text(f"[detection.speeding]\ntolerance_kmh = {value}\n")
    src = tmp_path / "in.jsonl"
    src.write_text("")
    assert main(["replay", str(src), "--config", str(config)]) == 2
    assert ("bad setting detection.speeding.tolerance_kmh (env "
            "KNIGHTWATCH_DETECTION__SPEEDING__TOLERANCE_KMH): Input should be a finite number"
            ) in capsys.readouterr().err
    # The same from the environment, and from a JSON file (which Python's parser lets through).
    monkeypatch.setenv("KNIGHTWATCH_KAFKA__CHECKPOINT_INTERVAL_S", value)
    with pytest.raises(SettingsError, match=r"kafka\.checkpoint_interval_s .*finite number"):
        load_settings()
    monkeypatch.delenv("KNIGHTWATCH_KAFKA__CHECKPOINT_INTERVAL_S")
    config = tmp_path / "kw.json"
    config.write_text('{"detection": {"congestion": {"window_s": Infinity}}}')
    with pytest.raises(SettingsError, match=r"detection\.congestion\.window_s .*finite number"):
        load_settings(config)


def test_a_contradiction_also_stops_the_worker_and_topic_creation(monkeypatch, capsys):
    monkeypatch.setenv("KNIGHTWATCH_TOPICS__ORDERS", "rider-gps")
    assert main(["worker"]) == 2
    assert "gps and orders are both 'rider-gps'" in capsys.readouterr().err
    assert main(["topics"]) == 2
    assert "gps and orders are both 'rider-gps'" in capsys.readouterr().err


def test_several_bad_settings_are_each_named(tmp_path, capsys):
    config = _config(tmp_path, {"detection.congestion": {"congested_ratio": 0.8,
                                                         "clear_ratio": 0.7},
                                "detection.scoring": {"start_score": 500}})
    src = tmp_path / "in.jsonl"
    src.write_text("")
    assert main(["replay", str(src), "--config", str(config)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert "congested_ratio (0.8)" in err[0] and "start_score (500)" in err[1]


def test_unreadable_config_and_environment_are_one_line(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_text("")
    config = tmp_path / "kw.toml"
    config.write_bytes(b'[topics]\ngps = "\xff"\n')
    assert main(["replay", str(src), "--config", str(config)]) == 2
    assert "config file" in (err := capsys.readouterr().err) and "not UTF-8 text" in err
    config.write_text("[topics\n")
    assert main(["replay", str(src), "--config", str(config)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["replay", str(src), "--config", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err
    monkeypatch.setenv("KNIGHTWATCH_DETECTION", "{not json")
    assert main(["replay", str(src)]) == 2
    assert ('knightwatch: bad environment setting: error parsing value for field "detection"'
            in capsys.readouterr().err)


def test_a_city_time_zone_that_is_not_an_iana_zone_is_named_with_its_city():
    with pytest.raises(SettingsError, match="dublin: 'Europe/Dubln' is not an IANA time zone"):
        load_settings(detection={"cities": {"time_zones": {"dublin": "Europe/Dubln"}}})
