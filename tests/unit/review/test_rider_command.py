"""`knightwatch rider`: the timeline on stdout, the picture on request, and a clear one-line
error with a non-zero status for anything it cannot use."""

import json

from streams.cli import EXIT_BAD_INPUT, main


def _run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["rider", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_demo_folder_prints_the_timeline_and_draws_the_ride(replayed, capsys, tmp_path):
    png = tmp_path / "r1.png"
    status, out, err = _run(capsys, str(replayed.folder), "--rider", "r1", "--png", str(png))
    assert (status, err) == (0, "")
    assert out.startswith("Rider r1, city shanghai; times Asia/Shanghai, UTC+08:00\n")
    assert f"Picture of the ride: {png} (226 fixes; alerts marked: 3;" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_messages_in_chinese_name_the_city_in_chinese(replayed, capsys):
    _, out, _ = _run(capsys, str(replayed.folder), "--rider", "r1", "--lang", "zh")
    assert "上海发布橙色预警（暴雨）" in out


def test_the_city_zone_setting_moves_the_clock(replayed, capsys, tmp_path):
    config = tmp_path / "cities.json"
    zones = {"time_zones": {"shanghai": "Europe/Dublin"}}
    config.write_text(json.dumps({"detection": {"cities": zones}}))
    _, out, _ = _run(capsys, str(replayed.folder), "--rider", "r1", "--config", str(config))
    assert "times Europe/Dublin, UTC+01:00" in out and "2026-07-15 03:00:00" in out
    _, out, _ = _run(capsys, str(replayed.folder), "--rider", "r1", "--time-zone", "UTC")
    assert "times UTC, UTC+00:00" in out and "2026-07-15 02:00:00" in out


def test_a_missing_folder_is_status_2_saying_what_to_run(capsys, tmp_path):
    status, out, err = _run(capsys, str(tmp_path / "out"), "--rider", "r1")
    assert status == EXIT_BAD_INPUT and out == ""
    assert err.startswith(f"knightwatch: {tmp_path / 'out'}: no such file or folder; run ")
    assert len(err.splitlines()) == 1


def test_an_unknown_rider_is_status_2_naming_riders_there(replayed, capsys):
    status, _, err = _run(capsys, str(replayed.folder), "--rider", "rider-0001")
    assert status == EXIT_BAD_INPUT
    assert "rider 'rider-0001': no record of this rider" in err and "r1, r2" in err


def test_a_picture_without_the_input_is_status_2(replayed, capsys, tmp_path):
    status, _, err = _run(capsys, str(replayed.output), "--rider", "r1",
                          "--png", str(tmp_path / "r1.png"))
    assert status == EXIT_BAD_INPUT and "--png needs the replay's input" in err
    assert not (tmp_path / "r1.png").exists()


def test_a_time_zone_that_does_not_exist_is_status_2(replayed, capsys):
    status, _, err = _run(capsys, str(replayed.folder), "--rider", "r1",
                          "--time-zone", "Asia/Shanghia")
    assert status == EXIT_BAD_INPUT and "not an IANA time zone" in err


def test_a_picture_of_a_rider_without_fixes_is_status_2_before_any_output(replayed, capsys,
                                                                          tmp_path):
    # r1's dead letter is the impossible fix; give a rider whose only record is an order.
    only_order = tmp_path / "only-order.jsonl"
    only_order.write_text(json.dumps({"topic": "order-events", "key": "o9", "value": {
        "order_id": "o9", "rider_id": "r7", "ts": 1_784_080_800_000, "type": "created"}}) + "\n")
    status, out, err = _run(capsys, str(replayed.output), "--rider", "r7", "--input",
                            str(only_order), "--png", str(tmp_path / "r7.png"))
    assert (status, out) == (EXIT_BAD_INPUT, "")
    assert "the input has 0 valid fixes of rider r7, too few to draw a ride" in err


def test_a_broken_zones_file_is_status_2_naming_it(replayed, capsys, tmp_path):
    zones = tmp_path / "zones.geojson"
    zones.write_text('{"type": "FeatureCollection", "features": [{"type": "Point"}]}')
    status, out, err = _run(capsys, str(replayed.folder), "--rider", "r1", "--zones",
                            str(zones), "--png", str(tmp_path / "r1.png"))
    assert (status, out) == (EXIT_BAD_INPUT, "")
    assert err.startswith(f"knightwatch: zones file {zones}: feature 0")
