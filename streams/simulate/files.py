"""A simulated city as files: the replay input, its ground-truth labels and the zones."""

import json
from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.demo.city import generate_city
from streams.primitives.gcj02 import wgs84_to_gcj02
from streams.simulate.faults import FaultRates, add_faults

# Fixes among the towers of the urban canyon wander twice as far as elsewhere.
CANYON_FACTOR = 2.0


@dataclass
class Simulation:
    records: list[dict]  # replay envelopes in arrival order
    labels: list[dict]  # ground truth, by start time
    zones: dict
    behaviours: dict[str, str]


def simulate(seed: int = 7, riders: int = 300, minutes: int = 60, noise_m: float = 3.5,
             faults: FaultRates | None = None, frame: str = "wgs84") -> Simulation:
    """`frame` gcj02: pings and order positions as a Chinese map SDK reports them (replay
    them with detection.gps.input_frame = gcj02); zones and labels stay WGS-84."""
    city = generate_city(seed=seed, riders=riders, minutes=minutes, noise_m=noise_m,
                         canyon_factor=CANYON_FACTOR)
    records, fault_labels = add_faults(city.records, faults or FaultRates.none(), seed)
    if frame == "gcj02":
        records = [_as_gcj02(r) for r in records]
    labels = sorted(city.labels + fault_labels,
                    key=lambda x: (x["start_ts"], x["rider_id"], x["kind"]))
    return Simulation(records, labels, city.zones, city.behaviours)


def _as_gcj02(record: dict) -> dict:
    value = record["value"]
    if "lat" not in value or "lon" not in value:
        return record
    lat, lon = wgs84_to_gcj02(value["lat"], value["lon"])
    return {**record, "value": {**value, "lat": round(lat, 6), "lon": round(lon, 6)}}


def write_simulation(sim: Simulation, out: Path, labels: Path, zones: Path) -> None:
    with open(out, "wb") as f:
        f.writelines(orjson.dumps(r) + b"\n" for r in sim.records)
    with open(labels, "wb") as f:
        f.writelines(orjson.dumps(x, option=orjson.OPT_SORT_KEYS) + b"\n" for x in sim.labels)
    zones.write_text(json.dumps(sim.zones, indent=2) + "\n", encoding="utf-8")
