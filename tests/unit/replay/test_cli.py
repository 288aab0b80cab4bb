import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

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


# -- failing clearly: one line on stderr, a documented exit status ------------------------------

ROOT = Path(__file__).resolve().parents[3]


def _replay(capsys, *args: str) -> tuple[int, list[str]]:
    status = main(["replay", *args, "--quiet"])
    return status, capsys.readouterr().err.splitlines()


def _ride_file(path: Path) -> Path:
    _write(path, [_gps_line(p) for p in ride(speed_kmh=18, duration_s=60)])
    return path


def test_a_missing_input_a_folder_or_an_out_in_a_missing_folder_is_one_line(tmp_path, capsys):
    src = _ride_file(tmp_path / "in.jsonl")
    cases = [
        ([str(tmp_path / "nope.jsonl")], f"input {tmp_path}/nope.jsonl: No such file or directory"),
        ([str(tmp_path)], f"input {tmp_path}: is a folder, not a file"),
        ([str(src), "--out", str(tmp_path / "missing" / "out.jsonl")],
         f"--out {tmp_path}/missing/out.jsonl: folder {tmp_path}/missing does not exist"),
        ([str(src), "--out", str(tmp_path)], f"--out {tmp_path}: is a folder, not a file"),
        ([str(src), "--out", str(src)],
         f"--out {src}: is the input file, which it would overwrite before reading it"),
        ([str(src), "--zones", str(tmp_path / "nope.geojson")],
         f"zones file {tmp_path}/nope.geojson: No such file or directory"),
    ]
    for args, message in cases:
        assert _replay(capsys, *args) == (2, [f"knightwatch: {message}"]), args
    assert src.read_text().count("\n") > 10  # the input was not overwritten


def test_an_input_that_cannot_be_opened_is_one_line(tmp_path, capsys):
    # A socket cannot be opened even by root: the error comes from the replay itself, not
    # from the checks made before it.
    path = tmp_path / "in.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        assert _replay(capsys, str(path)) == (
            2, [f"knightwatch: replay stopped: {path}: No such device or address"])


def test_a_malformed_zones_file_is_one_line_naming_the_feature(tmp_path, capsys):
    src = _ride_file(tmp_path / "in.jsonl")
    zones = tmp_path / "z.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "no_entry", "name": "market"},
         "geometry": "Polygon"}]}))
    assert _replay(capsys, str(src), "--zones", str(zones)) == (
        2, [f'knightwatch: zones file {zones}: feature 0 ("market"): `geometry` must be an '
            "object, not a string"])


def _mixed_file(path: Path, good: int, bad: int) -> Path:
    lines = [_gps_line(p) for p in ride(speed_kmh=18, duration_s=(good - 1) * 4)]
    assert len(lines) == good
    _write(path, lines + ["{not json"] * bad)
    return path


def test_too_many_rejected_records_exit_with_status_3(tmp_path, capsys):
    src, out = _mixed_file(tmp_path / "in.jsonl", good=10, bad=12), str(tmp_path / "o.jsonl")
    status, err = _replay(capsys, str(src), "--out", out)
    assert status == 3
    assert err[-1] == ("knightwatch: warning: 12 of 22 records (55%) were rejected (see the "
                       "dead letters), more than --max-rejected 0.5")
    assert "records read     22" in err  # the summary is still there, and the output
    assert Path(out).read_text().count('"topic":"dead-letters"') == 12
    assert _replay(capsys, str(src), "--out", out, "--max-rejected", "0.6")[0] == 0
    assert _replay(capsys, str(src), "--out", out, "--max-rejected", "1")[0] == 0
    few = _mixed_file(tmp_path / "few.jsonl", good=10, bad=1)
    assert _replay(capsys, str(few), "--out", out, "--max-rejected", "0")[0] == 3


@pytest.mark.parametrize("share", ["2", "-0.1", "nan", "half"])
def test_max_rejected_is_a_share(tmp_path, capsys, share):
    with pytest.raises(SystemExit) as exited:
        main(["replay", str(tmp_path / "in.jsonl"), "--max-rejected", share])
    assert exited.value.code == 2
    assert "argument --max-rejected" in capsys.readouterr().err


def _readme_config_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("`--config` takes", 1)[1]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


def test_the_readme_config_example_works_on_a_file_with_the_default_names(tmp_path, capsys):
    config = tmp_path / "kw.toml"
    config.write_text(_readme_config_example())
    src, out = _ride_file(tmp_path / "in.jsonl"), tmp_path / "out.jsonl"
    status, err = _replay(capsys, str(src), "--config", str(config), "--out", str(out))
    assert status == 0 and not [line for line in err if "warning" in line]
    assert "dead-letters" not in out.read_text()


def test_records_on_none_of_the_input_topics_are_a_warning(tmp_path, capsys):
    # What a [topics] section meant for Kafka does to a file written with the default names.
    config = tmp_path / "kw.toml"
    config.write_text('[topics]\ngps = "prod.rider-gps"\n')
    src, out = _ride_file(tmp_path / "in.jsonl"), tmp_path / "out.jsonl"
    status, err = _replay(capsys, str(src), "--config", str(config), "--out", str(out))
    assert status == 3
    assert err[-2] == ("knightwatch: warning: none of the 16 records was accepted: is each on "
                       "an input topic (prod.rider-gps, order-events, weather-events, "
                       "rider-alert-reviews, rider-point-redemptions; settings [topics]) with "
                       "a valid value?")
    assert err[-1].startswith("knightwatch: warning: 16 of 16 records (100%) were rejected")
    # Even with rejections allowed, the warning stays.
    status, err = _replay(capsys, str(src), "--config", str(config), "--out", str(out),
                          "--max-rejected", "1")
    assert status == 0 and "none of the 16 records was accepted" in err[-1]


def test_an_empty_input_is_not_an_error(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("")
    status, err = _replay(capsys, str(src), "--out", str(tmp_path / "o.jsonl"))
    assert status == 0 and not [line for line in err if "warning" in line]


def test_a_reader_that_goes_away_is_one_line(tmp_path):
    # Enough dead letters to fill the pipe after its reader has closed it (`| head`).
    src = tmp_path / "in.jsonl"
    _write(src, ["{not json"] * 20_000)
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "replay", str(src), "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 2
    assert err == "knightwatch: output closed before the replay ended\n"
