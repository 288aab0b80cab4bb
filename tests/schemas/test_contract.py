import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas import AlertReview, GpsPing, OrderEvent, RiderProfile, ScoreDelta, WeatherEvent
from schemas.export import check_schemas
from schemas.timestamps import MAX_TS_MS, MIN_TS_MS

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


# --- Strict wire types and plausible bounds on every input. ---

INPUTS = {
    GpsPing: {"rider_id": "r", "ts": 1_784_080_800_000, "lat": 31.2, "lon": 121.4},
    OrderEvent: {"order_id": "o", "rider_id": "r", "ts": 1_784_080_800_000, "type": "accepted"},
    WeatherEvent: {"city": "shanghai", "ts": 1_784_080_800_000, "condition": "rain"},
    AlertReview: {"alert_id": "a", "rider_id": "r", "ts": 1_784_080_800_000,
                  "verdict": "upheld"},
    RiderProfile: {"rider_id": "r", "first_aid_certified": True,
                   "certified_until": 1_784_080_800_000},
}
FLOATS = [(model, name) for model in INPUTS for name, info in model.model_fields.items()
          if info.annotation in (float, float | None)]


def _rejects(model, value: dict) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(value)
    with pytest.raises(ValidationError):
        model.model_validate_json(json.dumps(value))


@pytest.mark.parametrize(("model", "name"), FLOATS, ids=[f"{m.__name__}.{n}" for m, n in FLOATS])
def test_a_number_is_a_finite_json_number_never_a_bool_or_a_string(model, name):
    base = INPUTS[model]
    for bad in (True, False, "1", "1.5", " 2 ", "inf", "-inf", "nan", "Infinity",
                float("inf"), float("-inf"), float("nan"), [1], {"v": 1}):
        with pytest.raises(ValidationError):
            model.model_validate(base | {name: bad})
    for literal in ("NaN", "Infinity", "-Infinity", "1e400"):  # pydantic's JSON reads these
        with pytest.raises(ValidationError):
            model.model_validate_json(json.dumps(base)[:-1] + f', "{name}": {literal}}}')
    # JSON has one number type: an integer is taken where a float is expected.
    taken = model.model_validate(base | {name: 1})
    assert getattr(taken, name) == 1.0 and type(getattr(taken, name)) is float


def _walk(schema: dict, defs: dict):
    if "$ref" in schema:
        yield from _walk(defs[schema["$ref"].split("/")[-1]], defs)
    for option in schema.get("anyOf", []):
        yield from _walk(option, defs)
    yield schema


@pytest.mark.parametrize("model", list(INPUTS), ids=lambda m: m.__name__)
def test_every_input_number_has_both_bounds_and_every_string_a_maximum_length(model):
    schema = model.model_json_schema()
    for name, prop in schema["properties"].items():
        bounded = False
        for option in _walk(prop, schema.get("$defs", {})):
            kind = option.get("type")
            if kind in ("number", "integer"):
                assert "minimum" in option or "exclusiveMinimum" in option, name
                assert "maximum" in option or "exclusiveMaximum" in option, name
                bounded = True
            elif kind == "string" and "enum" not in option and "const" not in option:
                assert "maxLength" in option or option.get("format") == "date-time", name
                bounded = True
        if bounded:  # an enum says it all by itself
            assert prop.get("description"), f"{model.__name__}.{name}: say its bounds and why"


def test_upper_bounds_say_what_is_plausible():
    base = INPUTS[GpsPing]
    assert GpsPing.model_validate(base | {"speed_kmh": 200, "accuracy_m": 10_000,
                                          "heading_deg": 359.99, "city": "c" * 64})
    for bad in ({"speed_kmh": 1e9}, {"speed_kmh": 200.01}, {"accuracy_m": 10_001},
                {"city": "c" * 65}, {"rider_id": "r" * 129}, {"heading_deg": -0.1}):
        _rejects(GpsPing, base | bad)
    weather = INPUTS[WeatherEvent]
    for bad in ({"precip_mm_h": 501}, {"wind_mps": 121}, {"temperature_c": 71},
                {"valid_until": 1_784_080_800_000 + 7 * 86_400_000 + 1}, {"city": "c" * 65}):
        _rejects(WeatherEvent, weather | bad)
    _rejects(AlertReview, INPUTS[AlertReview] | {"reviewer": "x" * 255})


@pytest.mark.parametrize("ts", [
    True, False, "1784080800000", " 1784080800000 ", "1.7e12", 1_784_080_800_000.5,
    float("inf"), float("nan"), MIN_TS_MS - 1, MAX_TS_MS + 1, 1_784_080_800, 1_784_080_800_000_000,
    "2026-07-15T10:00:00", "2026-07-15", "20260715T020000Z", "2026-W29-3T02:00:00Z",
    "2026-07-15T02:00Z", "2026-13-15T02:00:00Z", "yesterday", None, [1_784_080_800_000],
])
def test_event_time_is_epoch_ms_in_2000_to_2100_or_rfc3339(ts):
    _rejects(GpsPing, INPUTS[GpsPing] | {"ts": ts})


def test_event_time_bounds_and_forms_that_are_taken():
    base = INPUTS[GpsPing]
    for ts, expected in [(MIN_TS_MS, MIN_TS_MS), (MAX_TS_MS, MAX_TS_MS),
                         (1_784_080_800_000.0, 1_784_080_800_000),
                         ("2026-07-15T02:00:00.5z", 1_784_080_800_500),
                         ("2026-07-15 10:00:00+08:00", 1_784_080_800_000),
                         ("2000-01-01T00:00:00Z", MIN_TS_MS)]:
        assert GpsPing.model_validate(base | {"ts": ts}).ts == expected, ts
    assert round(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000) == MIN_TS_MS
    assert round(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000) == MAX_TS_MS


def test_outputs_take_any_time_a_valid_input_can_lead_to():
    # Outputs are computed from inputs, up to a window or a validity period away.
    for ts in (MIN_TS_MS - 86_400_000, MAX_TS_MS + 86_400_000):
        delta = ScoreDelta(delta_id="d", rider_id="r", ts=ts, delta=-1, reason="speeding",
                           ref="a", score=99, tier="A")
        assert delta.ts == ts


def test_the_timestamp_schema_shows_both_wire_forms():
    ts = GpsPing.model_json_schema()["properties"]["ts"]
    assert {"type": "integer", "minimum": MIN_TS_MS, "maximum": MAX_TS_MS} in ts["anyOf"]
    assert {"type": "string", "format": "date-time"} in ts["anyOf"]


def test_a_certified_profile_must_say_when_its_certificate_expires():
    with pytest.raises(ValidationError, match="certified_until is required"):
        RiderProfile.model_validate({"rider_id": "r", "first_aid_certified": True})
    uncertified = RiderProfile.model_validate({"rider_id": "r", "first_aid_certified": False})
    assert uncertified.certified_until is None


def test_committed_openapi_document_matches_the_response_models():
    from streams.api.openapi import PATH, render

    assert PATH.read_text(encoding="utf-8") == render(), "run `knightwatch schemas`"
