from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas import GpsPing, WeatherEvent
from schemas.export import check_schemas

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "json"


def test_committed_json_schemas_match_the_models():
    assert check_schemas(SCHEMA_DIR) == [], "run `make schemas` and commit schemas/json"


def test_rfc3339_timestamps_are_normalised_to_epoch_ms():
    p = GpsPing(rider_id="r", ts="2026-07-15T10:00:00+08:00", lat=31.2, lon=121.4)
    assert p.ts == 1_784_080_800_000
    assert GpsPing(rider_id="r", ts="2026-07-15T02:00:00Z", lat=0, lon=0).ts == p.ts


@pytest.mark.parametrize("bad", [
    {"lat": 91}, {"lon": -181}, {"speed_kmh": -1}, {"heading_deg": 360}, {"ts": "yesterday"},
    {"ts": "2026-07-15T10:00:00"}, {"ts": 1_784_080_800}, {"rider_id": ""},
])
def test_out_of_contract_pings_are_rejected(bad):
    value = {"rider_id": "r", "ts": 1_784_080_800_000, "lat": 31.2, "lon": 121.4} | bad
    with pytest.raises(ValidationError):
        GpsPing.model_validate(value)


def test_weather_validity_defaults_to_one_hour():
    w = WeatherEvent(city="shanghai", ts=1_784_080_800_000, condition="rain")
    assert w.valid_until == w.ts + 3_600_000 and w.warning_level == "none"
