"""The demo's report shows times on the clock of the zone it is given, and names that zone."""

from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from streams.demo.summary import render_summary
from streams.replay.runner import ReplaySummary

# 2026-07-01 09:00 UTC: summer, when Dublin is an hour ahead of UTC and Shanghai eight.
NINE_UTC = 1_782_896_400_000


def _area_change(cell: str, state: str, ts: int) -> dict:
    return {"topic": "area-risk", "key": cell, "value": {
        "change_id": f"{cell}-{ts}", "cell": cell, "ts": ts, "window_end_ts": ts + 300_000,
        "state": state, "mean_speed_kmh": 4.0 if state == "congested" else 17.0,
        "usual_speed_kmh": 18.0, "riders": 3}}


def _output(tmp_path: Path) -> Path:
    path = tmp_path / "output.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in (
        _area_change("89309", "congested", NINE_UTC),
        _area_change("89309", "clear", NINE_UTC + 20 * 60_000))))
    return path


def test_congestion_times_are_local_to_the_zone_given_and_name_it(tmp_path):
    output = _output(tmp_path)
    dublin = render_summary(output, ReplaySummary(), ZoneInfo("Europe/Dublin"))
    assert "89309  congested 10:00-10:20" in dublin
    assert "times Europe/Dublin, UTC+01:00" in dublin
    shanghai = render_summary(output, ReplaySummary(), ZoneInfo("Asia/Shanghai"))
    assert "89309  congested 17:00-17:20" in shanghai
    assert "times Asia/Shanghai, UTC+08:00" in shanghai
