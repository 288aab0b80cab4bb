import json

from streams.cli import main
from tests.builders import ride


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _gps_line(p) -> str:
    return json.dumps({"topic": "rider-gps", "key": p.rider_id,
                       "value": json.loads(p.model_dump_json())})


def test_bad_input_becomes_dead_letters_and_processing_goes_on(tmp_path, capsys):
    good = [_gps_line(p) for p in ride(speed_kmh=[18.0] * 5 + [40.0] * 20 + [18.0] * 5,
                                       duration_s=120)]
    bad = [
        "{not json",
        json.dumps({"topic": "rider-gps", "key": "r1", "value": {"rider_id": "r1", "ts": "x",
                                                                  "lat": 0, "lon": 0}}),
        json.dumps({"topic": "rider-gps", "key": "r1", "value": {"rider_id": "r1",
                    "ts": 1_784_080_800_000, "lat": 95, "lon": 0}}),
        json.dumps({"topic": "rider-gps", "key": "r2", "value": {"rider_id": "r1",
                    "ts": 1_784_080_800_000, "lat": 1, "lon": 0}}),
        json.dumps({"topic": "nonsense", "key": "k", "value": {}}),
        json.dumps([1, 2]),
    ]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, good[:10] + bad + good[10:])
    assert main(["replay", str(src), "--out", str(out), "--quiet"]) == 0
    records = [json.loads(x) for x in out.read_text().splitlines()]
    dead = [r["value"] for r in records if r["topic"] == "dead-letters"]
    assert len(dead) == len(bad)
    errors = " | ".join(d["error"] for d in dead)
    for fragment in ("not JSON", "ts", "lat", "does not match rider_id", "unknown input topic",
                     "not a record"):
        assert fragment in errors
    assert dead[0]["raw"] == "{not json"
    assert next(r for r in records if r["topic"] == "rider-alerts")["value"]["kind"] == "speeding"
    summary = capsys.readouterr().err
    assert "records read" in summary and "rejected         6" in summary
    assert "records/s" in summary


def test_bad_settings_fail_with_the_setting_named(tmp_path, capsys):
    config = tmp_path / "kw.toml"
    config.write_text("[detection.speeding]\ntolerance_kmh = -3\n")
    src = tmp_path / "in.jsonl"
    src.write_text("")
    assert main(["replay", str(src), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "detection.speeding.tolerance_kmh" in err
    assert "KNIGHTWATCH_DETECTION__SPEEDING__TOLERANCE_KMH" in err


def test_settings_from_a_file_apply(tmp_path):
    config = tmp_path / "kw.json"
    config.write_text(json.dumps({"detection": {"speeding": {"national_cap_kmh": 15}}}))
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, [_gps_line(p) for p in ride(speed_kmh=20, duration_s=60)])
    assert main(["replay", str(src), "--out", str(out), "--config", str(config), "--quiet"]) == 0
    assert '"kind":"speeding"' in out.read_text()


def test_bad_zone_file_is_a_clear_error(tmp_path, capsys):
    zones = tmp_path / "z.geojson"
    zones.write_text('{"type": "Feature"}')
    src = tmp_path / "in.jsonl"
    src.write_text("")
    assert main(["replay", str(src), "--zones", str(zones)]) == 2
    assert "FeatureCollection" in capsys.readouterr().err


def test_env_settings_apply(monkeypatch):
    from streams.config.settings import load_settings

    monkeypatch.setenv("KNIGHTWATCH_DETECTION__PHONE_USE__MIN_SPEED_KMH", "12")
    assert load_settings().detection.phone_use.min_speed_kmh == 12


def test_a_bad_worker_setting_stops_it_at_start_with_the_setting_named(monkeypatch, capsys):
    monkeypatch.setenv("KNIGHTWATCH_KAFKA__GPS_PARTITIONS", "0")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "kafka.gps_partitions" in err and "KNIGHTWATCH_KAFKA__GPS_PARTITIONS" in err


def test_a_bad_security_protocol_is_named(monkeypatch, capsys):
    monkeypatch.setenv("KNIGHTWATCH_KAFKA__SECURITY_PROTOCOL", "SASL_TLS")
    assert main(["topics"]) == 2
    assert "kafka.security_protocol" in capsys.readouterr().err
