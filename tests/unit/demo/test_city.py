"""The simulated city: deterministic, valid input, and every behaviour caught by the core, while
riders who ride well are left alone."""

import contextlib
import functools
import io
import itertools
import re
import statistics
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from schemas import GpsPing, OrderEvent, PointRedemption, WeatherEvent
from streams.area.congestion import CongestionMap
from streams.config.settings import load_settings
from streams.demo.city import (
    BAD_BEHAVIOURS,
    BASE_TS_MS,
    CLEAN,
    HARMLESS_BEHAVIOURS,
    City,
    generate_city,
)
from streams.demo.run import run_demo
from streams.primitives.geo import point_segment_distance_m
from streams.primitives.zones import ZoneMap
from streams.scoring.safety_score import PENALISED_KINDS

MODELS = {
    "rider-gps": (GpsPing, "rider_id"),
    "order-events": (OrderEvent, "order_id"),
    "weather-events": (WeatherEvent, "city"),
    "rider-point-redemptions": (PointRedemption, "rider_id"),
}
# What the core must raise for each simulated behaviour.
EXPECTED_KIND = {
    "speeding": "speeding",
    "school_zone_speeding": "speeding",
    "harsh_braking": "harsh_braking",
    "harsh_acceleration": "harsh_acceleration",
    "harsh_cornering": "harsh_cornering",
    "wrong_way": "wrong_way",
    "no_entry": "restricted_zone",
    "phone_use": "phone_use",
    "gps_jump": "gps_anomaly",
}
DEMO_RIDERS = 60


@pytest.fixture(scope="module")
def small_city():
    return generate_city(seed=3, riders=30, minutes=60)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    out_dir = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run_demo(out_dir, seed=7, riders=DEMO_RIDERS) == 0
    return out_dir, printed.getvalue()


def _outputs(out_dir: Path, topic: str) -> list[dict]:
    with open(out_dir / "output.jsonl", "rb") as f:
        records = [orjson.loads(line) for line in f]
    return [r["value"] for r in records if r["topic"] == topic]


@functools.cache
def _demo_city() -> City:
    return generate_city(seed=7, riders=DEMO_RIDERS)


def _behaviours() -> dict[str, str]:
    return _demo_city().behaviours


def _congestion_map() -> CongestionMap:
    return CongestionMap(load_settings().detection.congestion)


def _jam_cells(city: City) -> set[str]:
    assert city.jam is not None
    return {_congestion_map().cell_of(lat, lon) for lat, lon in city.jam.street}


def _speeds_along_the_jam(city: City, from_ts: int, until_ts: int) -> dict[str, list[float]]:
    """Moving device speeds of good fixes along the middle of the jammed block, by rider."""
    assert city.jam is not None
    (lat_a, lon_a), (lat_b, lon_b) = city.jam.street
    # Clear of the junctions at either end, where cross traffic passes at its own speed.
    a = (lat_a + (lat_b - lat_a) * 0.15, lon_a + (lon_b - lon_a) * 0.15)
    b = (lat_b + (lat_a - lat_b) * 0.15, lon_b + (lon_a - lon_b) * 0.15)
    speeds: dict[str, list[float]] = defaultdict(list)
    for record in city.records:
        fix = record["value"]
        if (record["topic"] == "rider-gps" and from_ts <= fix["ts"] < until_ts
                and fix.get("speed_kmh", 0) >= 2 and fix["accuracy_m"] <= 15
                and point_segment_distance_m(fix["lat"], fix["lon"], a, b) <= 6):
            speeds[fix["rider_id"]].append(fix["speed_kmh"])
    return speeds


def test_base_time_is_ten_in_the_morning_in_shanghai():
    expected = datetime(2026, 7, 15, 10, tzinfo=timezone(timedelta(hours=8)))
    assert int(expected.timestamp() * 1000) == BASE_TS_MS


def test_same_seed_same_city_other_seed_other_city():
    a = generate_city(seed=11, riders=25, minutes=20)
    b = generate_city(seed=11, riders=25, minutes=20)
    assert a.records == b.records
    assert a.zones == b.zones and a.behaviours == b.behaviours
    assert generate_city(seed=12, riders=25, minutes=20).records != a.records


def test_a_riders_day_does_not_depend_on_how_many_ride():
    def first_rider(riders: int) -> list[dict]:
        city = generate_city(seed=5, riders=riders, minutes=15)
        return [r["value"] for r in city.records if r["key"] == "rider-0001"]

    assert first_rider(2) == first_rider(25)


def test_bad_riders_come_first_whatever_the_number_of_riders(small_city):
    behaviours = list(small_city.behaviours.values())
    assert behaviours[: len(BAD_BEHAVIOURS)] == list(BAD_BEHAVIOURS)
    assert set(behaviours[len(BAD_BEHAVIOURS):]) == {CLEAN}
    assert list(generate_city(seed=3, riders=4, minutes=5).behaviours) == [
        "rider-0001", "rider-0002", "rider-0003", "rider-0004"]


def test_every_record_validates_against_its_schema(small_city):
    for record in small_city.records:
        model, key_field = MODELS[record["topic"]]
        value = model.model_validate(record["value"])
        assert record["key"] == getattr(value, key_field)
    topics = {r["topic"] for r in small_city.records}
    assert topics == set(MODELS)


def test_some_riders_send_no_motion_and_some_fixes_are_inaccurate(small_city):
    pings = [r["value"] for r in small_city.records if r["topic"] == "rider-gps"]
    assert any("speed_kmh" not in p for p in pings)
    assert all(("speed_kmh" in p) == ("heading_deg" in p) for p in pings)
    assert any(p["accuracy_m"] > 50 for p in pings)


def test_orders_follow_their_lifecycle(small_city):
    events = defaultdict(list)
    for r in small_city.records:
        if r["topic"] == "order-events":
            events[r["key"]].append(r["value"])
    assert events
    for order_events in events.values():
        order_events.sort(key=lambda e: e["ts"])
        types = [e["type"] for e in order_events]
        assert types[0] == "created"
        if "accepted" in types:
            accepted = order_events[types.index("accepted")]
            assert 25 <= (accepted["promised_ts"] - accepted["ts"]) / 60_000 <= 35
        if "delivered" in types:
            assert types[-1] == "delivered"
            assert types.index("picked_up") < types.index("arrived_at_customer")
        if "cancelled" in types:
            assert "picked_up" not in types


def test_only_offline_riders_arrive_late_and_within_four_minutes(small_city):
    newest: dict[str, int] = {}
    late_riders = set()
    previous_ts = 0
    for record in small_city.records:
        value = record["value"]
        if record["topic"] != "rider-gps":
            assert value["ts"] >= previous_ts
            continue
        rider = value["rider_id"]
        behind = newest.get(rider, 0) - value["ts"]
        if behind > 0:
            late_riders.add(rider)
            assert behind <= 240_000
        else:
            assert value["ts"] >= previous_ts
            previous_ts = value["ts"]
        newest[rider] = max(newest.get(rider, 0), value["ts"])
    offline = {r for r, b in small_city.behaviours.items() if b == "offline"}
    assert late_riders == offline


def test_the_jam_holds_riders_up_then_the_street_flows_again(small_city):
    jam = small_city.jam
    assert jam is not None
    assert 10 <= (jam.end_ts - jam.start_ts) / 60_000 <= 15
    assert len(_jam_cells(small_city)) <= 2
    held_up = [r for r in jam.riders if small_city.behaviours[r] == CLEAN]
    assert len(held_up) >= 5
    window = 300_000
    during = _speeds_along_the_jam(small_city, jam.start_ts + 60_000, jam.end_ts)
    assert len(during) >= 5 and set(during) <= set(jam.riders)
    assert 3 <= statistics.median(s for v in during.values() for s in v) <= 6
    after = _speeds_along_the_jam(small_city, jam.end_ts + 60_000, jam.end_ts + 3 * window)
    assert len(after) >= 3
    assert statistics.median(s for v in after.values() for s in v) >= 12


def test_the_jam_is_left_out_when_the_city_stops_before_it():
    assert generate_city(seed=3, riders=25, minutes=15).jam is None


def test_zones_load_as_a_zone_map(small_city):
    zones = ZoneMap.from_geojson(small_city.zones)
    assert sorted(z.kind for z in zones.zones) == ["no_entry", "speed_limit"]
    assert len({s.name for s in zones.segments}) == 2


def test_demo_writes_its_files_and_prints_a_summary(demo):
    out_dir, printed = demo
    for name in ("input.jsonl", "zones.geojson", "output.jsonl"):
        assert (out_dir / name).stat().st_size > 0
    assert "Alerts by kind" in printed and "Riders most at risk" in printed
    assert "records/s" in printed and str(out_dir) in printed
    assert f"knightwatch rider {out_dir} --rider rider-0001 --png" in printed
    assert len(printed.splitlines()) < 70


def test_demo_raises_every_kind_of_alert(demo):
    out_dir, _ = demo
    kinds = {a["kind"] for a in _outputs(out_dir, "rider-alerts")}
    assert kinds >= {"speeding", "harsh_braking", "harsh_acceleration", "harsh_cornering",
                     "restricted_zone", "wrong_way", "phone_use", "gps_anomaly"}


def test_each_bad_rider_is_caught_for_what_they_did(demo):
    out_dir, _ = demo
    kinds_by_rider = defaultdict(set)
    for alert in _outputs(out_dir, "rider-alerts"):
        kinds_by_rider[alert["rider_id"]].add(alert["kind"])
    for rider, behaviour in _behaviours().items():
        if behaviour in EXPECTED_KIND:
            assert EXPECTED_KIND[behaviour] in kinds_by_rider[rider], (rider, behaviour)
    school = [a for a in _outputs(out_dir, "rider-alerts")
              if a["kind"] == "speeding" and a["evidence"]["zone"] == "school zone"]
    assert school


def test_riders_who_ride_well_raise_no_penalised_alert(demo):
    out_dir, _ = demo
    behaviours = _behaviours()
    assert sum(b == CLEAN for b in behaviours.values()) >= DEMO_RIDERS - len(BAD_BEHAVIOURS)
    wrongly = [(a["rider_id"], a["kind"], a["evidence"])
               for a in _outputs(out_dir, "rider-alerts")
               if behaviours[a["rider_id"]] in HARMLESS_BEHAVIOURS
               and a["kind"] in PENALISED_KINDS]
    assert wrongly == []


def test_offline_upload_is_within_the_allowed_lateness(demo):
    out_dir, _ = demo
    assert _outputs(out_dir, "dead-letters") == []


def test_the_jammed_cell_is_congested_then_released(demo):
    out_dir, printed = demo
    jam = _demo_city().jam
    assert jam is not None
    cells = _jam_cells(_demo_city())
    changes = sorted((c for c in _outputs(out_dir, "area-risk") if c["cell"] in cells),
                     key=lambda c: c["ts"])
    congested = [c for c in changes if c["state"] == "congested"]
    assert congested
    first = congested[0]
    assert jam.start_ts <= first["ts"] < jam.end_ts
    assert first["mean_speed_kmh"] < 0.5 * first["usual_speed_kmh"]
    cleared = [c for c in changes if c["cell"] == first["cell"] and c["state"] == "clear"
               and c["ts"] > first["ts"]]
    assert cleared
    # Released by riders passing at their usual speed once the jam is over.
    assert jam.end_ts - 300_000 < cleared[0]["ts"] <= jam.end_ts + 2 * 300_000
    assert cleared[0]["mean_speed_kmh"] >= 0.7 * cleared[0]["usual_speed_kmh"]
    # On the city's clock, with the zone named.
    local = datetime.fromtimestamp(first["ts"] / 1000, ZoneInfo("Asia/Shanghai"))
    assert f"{first['cell']}  congested {local:%H:%M}-" in printed
    [headline] = [line for line in printed.splitlines() if line.startswith("Congestion")]
    assert headline.startswith("Congestion (area-risk):")
    assert headline.endswith("times Asia/Shanghai, UTC+08:00")


def test_riders_held_up_in_the_jam_get_one_congestion_alert(demo):
    out_dir, _ = demo
    jam = _demo_city().jam
    assert jam is not None
    cells = _jam_cells(_demo_city())
    alerts = [a for a in _outputs(out_dir, "rider-alerts") if a["kind"] == "congestion"]
    assert "congestion" not in PENALISED_KINDS
    assert {a["severity"] for a in alerts} == {"info"}
    in_jam = [a for a in alerts if a["evidence"]["cell"] in cells]
    alerted = [a["rider_id"] for a in in_jam]
    # One episode in the jammed cell, so one alert per rider.
    assert len(alerted) == len(set(alerted))
    assert len(set(alerted) & set(jam.riders)) >= 5
    assert all(jam.start_ts <= a["ts"] < jam.end_ts + 300_000 for a in in_jam)


def test_demo_names_the_citys_role_models_beside_their_scores_and_points(demo):
    out_dir, printed = demo
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Safety role models of"))
    board = list(itertools.takewhile(lambda line: re.match(r"\s+\d+\. ", line),
                                     lines[start + 1:]))
    assert board, "some riders rode the demo hour safely with enough deliveries"
    named = [line.split()[1] for line in board]
    penalised = {a["rider_id"] for a in _outputs(out_dir, "rider-alerts")
                 if a["kind"] in PENALISED_KINDS}
    assert not penalised & set(named)
    balances = {p["rider_id"]: p["balance"] for p in _outputs(out_dir, "rider-safety-points")}
    shown = [int(re.search(r"([\d,]+) points", line)[1].replace(",", "")) for line in board]
    assert shown == [balances[r] for r in named] and shown == sorted(shown, reverse=True)
