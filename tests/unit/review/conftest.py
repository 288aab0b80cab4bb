"""A replay to review: rider r1 speeds, rides into a no-entry zone, delivers an order late
under a rainstorm warning (exempt, subsidised, earning points), redeems points once too many
and once within the balance, and sends one impossible fix; rider r2 rides elsewhere."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.cli import main
from streams.primitives.geo import offset
from tests.builders import ORIGIN, by_time, lifecycle, redemption, ride, weather

TOPICS = {"GpsPing": "rider-gps", "OrderEvent": "order-events",
          "WeatherEvent": "weather-events", "PointRedemption": "rider-point-redemptions"}
# 4 s apart, due east: 40 fixes at 18 km/h, 20 at 36 (speeding), 90 at 18 again, then standing
# for 5 minutes, when r1 taps through an order (no phone use: the bike is still).
SPEEDS = [18.0] * 40 + [36.0] * 20 + [18.0] * 90 + [0.0] * 76


@dataclass(frozen=True)
class Replayed:
    folder: Path  # input.jsonl, zones.geojson, output.jsonl, as the demo leaves them

    @property
    def output(self) -> Path:
        return self.folder / "output.jsonl"

    def outputs(self, topic: str, rider: str | None = "r1") -> list[dict]:
        """The values on `topic` of `rider` (None: of everyone)."""
        with open(self.output, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        return [r["value"] for r in records if r["topic"] == topic
                and (rider is None or r["value"].get("rider_id", r["key"]) == rider)]


def _line(event) -> str:
    value = json.loads(event.model_dump_json(exclude_none=True))
    key = value.get("rider_id") if "rider_id" in value else value["city"]
    if type(event).__name__ == "OrderEvent":
        key = value["order_id"]
    return json.dumps({"topic": TOPICS[type(event).__name__], "key": key, "value": value})


def _box_east_of_origin(from_m: float, to_m: float, half_width_m: float) -> list:
    corners = [(-half_width_m, from_m), (-half_width_m, to_m), (half_width_m, to_m),
               (half_width_m, from_m), (-half_width_m, from_m)]
    return [[lon, lat] for lat, lon in (offset(*ORIGIN, n, e) for n, e in corners)]


def zones_geojson() -> dict:
    def zone(name: str, ring: list) -> dict:
        return {"type": "Feature", "properties": {"kind": "no_entry", "name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}
    return {"type": "FeatureCollection", "features": [
        zone("market street", _box_east_of_origin(2000, 2100, 60)),
        zone("far away square", _box_east_of_origin(20_000, 20_200, 100)),
    ]}


def replay_input() -> list[str]:
    events = [
        weather(0, minutes=30),
        *ride("r1", duration_s=900, speed_kmh=SPEEDS, every_s=4),
        *lifecycle("o1", "r1", accept_s=604, arrived_s=640, ready_s=660, pickup_s=700,
                   promised_s=700, delivered_s=760),
        redemption("redeem-big", 1000, 850, "r1"),
        redemption("redeem-small", 20, 880, "r1", reward="rain cape"),
        *ride("r2", duration_s=120, start=offset(*ORIGIN, -3000, 0), heading_deg=0),
    ]
    lines = [_line(e) for e in by_time(events)]
    impossible = {"rider_id": "r1", "ts": events[1].ts + 1, "lat": 200.0, "lon": ORIGIN[1]}
    lines.insert(5, json.dumps({"topic": "rider-gps", "key": "r1", "value": impossible}))
    return lines


@pytest.fixture(scope="session")
def replayed(tmp_path_factory) -> Replayed:
    folder = tmp_path_factory.mktemp("replayed")
    (folder / "input.jsonl").write_text("\n".join(replay_input()) + "\n", encoding="utf-8")
    (folder / "zones.geojson").write_text(json.dumps(zones_geojson()), encoding="utf-8")
    status = main(["replay", str(folder / "input.jsonl"), "--out", str(folder / "output.jsonl"),
                   "--zones", str(folder / "zones.geojson"), "--quiet"])
    assert status == 0
    return Replayed(folder)
