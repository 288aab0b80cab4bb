"""Real e-bike and e-scooter trips (DualEMobilityData, DCU; 1 Hz device speed) replayed through
the core. Read from ../shared/data beside the repository, never copied into it."""

import io
import json
import os
from pathlib import Path

import pytest

from schemas import GpsPing
from streams.config.settings import load_settings
from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from streams.replay.runner import replay
from tests.builders import alerts

DATA = Path(os.environ.get("KNIGHTWATCH_SHARED_DATA",
                           Path(__file__).resolve().parents[3] / "shared" / "data"))
PENALISED = {"speeding", "harsh_braking", "harsh_acceleration", "harsh_cornering",
             "restricted_zone", "wrong_way", "phone_use"}
AT_THE_CAP = ["dcuebike-p1-3", "dcuebike-p1-4", "dcuebike-p4-1"]


def _lines(name: str) -> list[bytes]:
    path = DATA / name
    assert path.exists(), f"{path} is missing: the shared GPS traces live in ../shared/data"
    return path.read_bytes().splitlines(keepends=True)


def _outputs(lines: list[bytes]) -> tuple[list[dict], object]:
    sink = io.BytesIO()
    summary = replay(io.BytesIO(b"".join(lines)), sink, load_settings(), show_progress=False)
    return [json.loads(x) for x in sink.getvalue().splitlines()], summary


def _without_device_speed(lines: list[bytes]) -> list[bytes]:
    out = []
    for line in lines:
        record = json.loads(line)
        record["value"].pop("speed_kmh", None)
        out.append(json.dumps(record).encode() + b"\n")
    return out


@pytest.mark.parametrize("name,trips", [("dcu_ebike.jsonl", 13), ("dcu_escooter.jsonl", 9)])
def test_real_trips_replay_cleanly_with_no_penalised_alert(name, trips):
    records, summary = _outputs(_lines(name))
    assert summary.rejected == 0 and summary.late == 0
    assert summary.records == len(_lines(name))
    kinds = [r["value"]["kind"] for r in records if r["topic"] == "rider-alerts"]
    assert not PENALISED & set(kinds), kinds
    assert [r for r in records if r["topic"] == "rider-score-deltas"] == []


@pytest.mark.parametrize("name", ["dcu_ebike.jsonl", "dcu_escooter.jsonl"])
def test_without_device_speed_positions_alone_raise_no_penalised_alert(name):
    records, _ = _outputs(_without_device_speed(_lines(name)))
    kinds = {r["value"]["kind"] for r in records if r["topic"] == "rider-alerts"}
    assert not PENALISED & kinds


def _run(core: KnightwatchCore, riders: list[str]) -> list:
    out = []
    for line in _lines("dcu_ebike.jsonl"):
        value = json.loads(line)["value"]
        if value["rider_id"] in riders:
            out += core.ingest(GpsPing.model_validate(value))
    return out + core.close()


def test_riding_at_the_25_kmh_assist_cut_off_is_lawful():
    assert alerts(_run(KnightwatchCore(), AT_THE_CAP), "speeding") == []
    # They really ride near the cap: most fixes within 3 km/h of 25 km/h.
    at_cap = [json.loads(line)["value"] for line in _lines("dcu_ebike.jsonl")]
    near = [v for v in at_cap if v["rider_id"] in AT_THE_CAP and v["speed_kmh"] >= 22]
    assert len(near) > len([v for v in at_cap if v["rider_id"] in AT_THE_CAP]) // 2


def test_the_known_gps_jumps_are_rejected_and_reported_as_info_only():
    settings = DetectionSettings.model_validate({"gps": {"anomaly_alert_cooldown_s": 0}})
    core = KnightwatchCore(settings)
    out = []
    for name in ("dcu_ebike.jsonl", "dcu_escooter.jsonl"):
        for line in _lines(name):
            out += core.ingest(GpsPing.model_validate(json.loads(line)["value"]))
    out += core.close()
    anomalies = alerts(out, "gps_anomaly")
    assert {a.severity for a in anomalies} == {"info"}
    by_rider = {(a.rider_id, a.ts): a.evidence for a in anomalies}
    # 142 m in 1 s while the device reads 0, at 2023-03-10T09:43:15Z.
    jump = by_rider[("dcuebike-p1-1", 1678441395000)]
    assert 140 <= jump["jump_m"] <= 145 and jump["device_speed_kmh"] == 0
    # 44 m in 1 s at 23 km/h on the e-scooter.
    assert any(r == "dcuescooter-p1-2" and 43 <= e["jump_m"] <= 46
               for (r, _), e in by_rider.items())
    assert not [e for e in out if e.stream == "deltas"]
