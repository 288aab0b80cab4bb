"""Sensor faults laid over a simulated city's pings, each written down as a label.

Drawn from a `random.Random` of their own, so the riders' motion (and the demo) stays the same
whatever faults are asked for. None of them should raise a penalised alert."""

import math
import random
from dataclasses import dataclass

from streams.demo.city import GPS_TOPIC
from streams.primitives.geo import offset


@dataclass(frozen=True)
class FaultRates:
    dropped: float = 0.01  # pings lost on the way
    duplicate: float = 0.005  # pings sent twice
    multipath: float = 0.003  # one fix thrown 60-150 m by a reflection, accuracy unaware
    no_device_speed: float = 0.05  # phones reporting neither speed nor heading
    zero_device_speed: float = 0.02  # phones whose speed field is always 0
    wrong_clock: float = 0.02  # phones whose clock runs 20-90 s ahead

    @classmethod
    def none(cls) -> "FaultRates":
        return cls(0, 0, 0, 0, 0, 0)


def add_faults(records: list[dict], rates: FaultRates, seed: int
               ) -> tuple[list[dict], list[dict]]:
    """(records in arrival order with faults, labels of the faults)."""
    rng = random.Random(f"faults-{seed}")
    phones: dict[str, tuple[str | None, int]] = {}
    labels: list[dict] = []
    out: list[dict] = []
    for record in records:
        if record["topic"] != GPS_TOPIC:
            out.append(record)
            continue
        value = dict(record["value"])
        rider = value["rider_id"]
        if rider not in phones:
            phones[rider] = _phone(rng, rates)
            fault, skew_ms = phones[rider]
            if fault is not None:
                labels.append({"kind": fault, "rider_id": rider, "start_ts": value["ts"],
                               "end_ts": value["ts"], "expected": None,
                               "params": {"clock_ahead_s": skew_ms / 1000}})
        fault, skew_ms = phones[rider]
        if rng.random() < rates.dropped:
            continue
        if fault == "no_device_speed":
            value.pop("speed_kmh", None)
            value.pop("heading_deg", None)
        elif fault == "zero_device_speed" and "speed_kmh" in value:
            value["speed_kmh"] = 0.0
        if rng.random() < rates.multipath:
            bearing = rng.uniform(0, 2 * math.pi)
            reach = rng.uniform(60, 150)
            lat, lon = offset(value["lat"], value["lon"], reach * math.cos(bearing),
                              reach * math.sin(bearing))
            value["lat"], value["lon"] = round(lat, 6), round(lon, 6)
            # Hygiene rejects the jump and says so with an info alert, never a penalty.
            labels.append({"kind": "multipath_jump", "rider_id": rider, "start_ts": value["ts"],
                           "end_ts": value["ts"], "expected": "gps_anomaly",
                           "params": {"jump_m": round(reach, 1)}})
        value["ts"] += skew_ms
        faulty = {**record, "value": value}
        out.append(faulty)
        if rng.random() < rates.duplicate:
            out.append(faulty)
    labels.sort(key=lambda x: (x["start_ts"], x["rider_id"], x["kind"]))
    return out, labels


def _phone(rng: random.Random, rates: FaultRates) -> tuple[str | None, int]:
    roll = rng.random()
    if roll < rates.no_device_speed:
        return "no_device_speed", 0
    roll -= rates.no_device_speed
    if roll < rates.zero_device_speed:
        return "zero_device_speed", 0
    roll -= rates.zero_device_speed
    if roll < rates.wrong_clock:
        return "wrong_clock", rng.randint(20, 90) * 1000
    return None, 0
