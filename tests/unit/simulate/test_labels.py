"""The simulator's labels say what it generated: each episode is in the emitted records."""

import functools
import io
import itertools
from collections import Counter

import orjson

from streams.config.settings import load_settings
from streams.config.thresholds import DetectionSettings
from streams.demo.city import NATIONAL_CAP_KMH, URBAN_CANYON, _ring, generate_city
from streams.primitives.zones import ZoneMap
from streams.replay.runner import replay
from streams.simulate.faults import FaultRates
from streams.simulate.files import Simulation, simulate, write_simulation

# The first 19 riders misbehave in every city; an hour holds each one's episodes.
RIDERS, MINUTES = 19, 60


@functools.cache
def _clean_phones() -> Simulation:
    """No position noise and no faults: a label's geometry can be checked fix by fix."""
    return simulate(seed=5, riders=RIDERS, minutes=MINUTES, noise_m=0.0,
                    faults=FaultRates.none())


def _labels(kind: str) -> list[dict]:
    found = [x for x in _clean_phones().labels if x["kind"] == kind]
    assert found, f"the city has no {kind} episode"
    return found


def _pings(label: dict, margin_ms: int = 0) -> list[dict]:
    return sorted((r["value"] for r in _clean_phones().records
                   if r["topic"] == "rider-gps" and r["value"]["rider_id"] == label["rider_id"]
                   and label["start_ts"] - margin_ms <= r["value"]["ts"]
                   <= label["end_ts"] + margin_ms), key=lambda v: v["ts"])


def _file_bytes(sim: Simulation, tmp_path, name: str) -> tuple[bytes, bytes]:
    out, labels = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.labels.jsonl"
    write_simulation(sim, out, labels, tmp_path / f"{name}.zones.geojson")
    return out.read_bytes(), labels.read_bytes()


def test_a_speeding_episode_is_at_its_labelled_peak_speed_in_the_pings():
    for label in _labels("speeding"):
        speeds = [p["speed_kmh"] for p in _pings(label)]
        assert label["params"]["peak_kmh"] >= 37.0  # the injected 37-40 km/h episode
        assert abs(max(speeds) - label["params"]["peak_kmh"]) <= 1.5
        assert min(speeds) > NATIONAL_CAP_KMH - 1.5


def test_a_harsh_stop_drops_speed_as_labelled():
    for label in _labels("harsh_braking"):
        pings = [p for p in _pings(label, margin_ms=1000) if p["ts"] >= label["start_ts"]]
        # The first fix is 50 ms into the stop (1.1 km/h lost), plus the phone's speed noise.
        assert abs(pings[0]["speed_kmh"] - label["params"]["from_kmh"]) <= 2.5
        assert pings[-1]["speed_kmh"] <= 1.0
        # The labelled deceleration, second by second, within the phone's speed noise.
        steepest = max((a["speed_kmh"] - b["speed_kmh"]) / 3.6 / ((b["ts"] - a["ts"]) / 1000)
                       for a, b in itertools.pairwise(pings))
        assert abs(steepest - label["params"]["decel_mps2"]) <= 0.5


def test_a_harsh_launch_gains_speed_as_labelled():
    for label in _labels("harsh_acceleration"):
        pings = _pings(label, margin_ms=1000)
        gain = pings[-1]["speed_kmh"] - pings[0]["speed_kmh"]
        assert gain / 3.6 / ((pings[-1]["ts"] - pings[0]["ts"]) / 1000) >= 2.5


def test_a_zone_entry_really_enters_the_zone():
    zones = ZoneMap.from_geojson(_clean_phones().zones)
    for label in _labels("zone_entry"):
        inside = [p for p in _pings(label)
                  if any(z.name == label["params"]["zone"] for z in zones.zones_at(p["lat"],
                                                                                 p["lon"]))]
        assert len(inside) >= 2


def test_a_wrong_way_stretch_rides_against_the_one_way_street():
    for label in _labels("wrong_way"):
        headings = [p["heading_deg"] for p in _pings(label)]
        # Yunnan Road is allowed southbound (180), Huanghe Road eastbound (90).
        allowed = 180.0 if label["params"]["street"].startswith("Yunnan") else 90.0
        assert headings and all(abs((h - allowed + 180) % 360 - 180) > 150 for h in headings)


def test_a_late_delivery_label_is_late_by_what_it_says():
    orders = [r["value"] for r in _clean_phones().records if r["topic"] == "order-events"]
    for label in [x for x in _clean_phones().labels if x["kind"].startswith("late_")]:
        events = {o["type"]: o for o in orders if o["order_id"] == label["params"]["order_id"]}
        late_by_s = (events["delivered"]["ts"] - events["accepted"]["promised_ts"]) / 1000
        assert abs(late_by_s - label["params"]["late_by_s"]) < 0.01


def test_a_seed_reproduces_the_files_byte_for_byte(tmp_path):
    first = _file_bytes(simulate(seed=11, riders=RIDERS, minutes=20, faults=FaultRates()),
                        tmp_path, "a")
    again = _file_bytes(simulate(seed=11, riders=RIDERS, minutes=20, faults=FaultRates()),
                        tmp_path, "b")
    other = _file_bytes(simulate(seed=12, riders=RIDERS, minutes=20, faults=FaultRates()),
                        tmp_path, "c")
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


def test_every_fault_is_labelled_and_each_label_is_a_json_line(tmp_path):
    sim = simulate(seed=11, riders=60, minutes=20,
                   faults=FaultRates(multipath=0.05, wrong_clock=0.2))
    _, labels = _file_bytes(sim, tmp_path, "faults")
    kinds = {orjson.loads(line)["kind"] for line in io.BytesIO(labels)}
    assert {"multipath_jump", "wrong_clock"} <= kinds


def test_a_gcj02_city_replayed_as_gcj02_raises_what_the_wgs84_city_raises():
    settings = load_settings()
    as_gcj02 = settings.model_copy(update={"detection": DetectionSettings(
        gps={"input_frame": "gcj02"})})
    kinds = {}
    for frame, cfg in (("wgs84", settings), ("gcj02", as_gcj02)):
        sim = simulate(seed=5, riders=RIDERS, minutes=MINUTES, faults=FaultRates.none(),
                       frame=frame)
        sink = io.BytesIO()
        replay(io.BytesIO(b"".join(orjson.dumps(r) + b"\n" for r in sim.records)), sink, cfg,
               ZoneMap.from_geojson(sim.zones), show_progress=False)
        kinds[frame] = Counter(r["value"]["kind"] for r in map(orjson.loads,
                                                              sink.getvalue().splitlines())
                               if r["topic"] == "rider-alerts")
    assert kinds["wgs84"]["restricted_zone"] >= 1 and kinds["wgs84"]["wrong_way"] >= 1
    assert kinds["gcj02"] == kinds["wgs84"]


def test_fixes_wander_further_in_the_urban_canyon_and_only_there():
    # The same city twice: the canyon factor changes no random draw, only how far fixes taken
    # among the towers (and within the 250 m it fades over) wander.
    plain, canyon = (generate_city(seed=5, riders=40, minutes=20, noise_m=5.0,
                                   canyon_factor=factor).records for factor in (1.0, 2.0))
    zone = ZoneMap.from_geojson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "no_entry", "name": "canyon"},
         "geometry": {"type": "Polygon", "coordinates": [_ring(URBAN_CANYON.grown(290))]}}]})
    moved = [(a["value"], b["value"]) for a, b in zip(plain, canyon, strict=True)
             if (a["value"].get("lat"), a["value"].get("lon"))
             != (b["value"].get("lat"), b["value"].get("lon"))]
    assert len(moved) > 100
    # Fixes the phone knows are poor (accuracy past 50 m) are thrown tens of metres anyway.
    assert all(zone.zones_at(a["lat"], a["lon"]) for a, _ in moved if a["accuracy_m"] <= 50)
