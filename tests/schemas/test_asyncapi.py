"""The AsyncAPI document (schemas/asyncapi.json): checked in as generated, a valid AsyncAPI 3.0
document, one channel per topic setting with its default name, what Knightwatch does on each,
and payload schemas that the records Knightwatch really writes satisfy.

asyncapi-3.0.0.schema.json beside this file is the AsyncAPI Initiative's JSON Schema of
AsyncAPI 3.0.0 (schemas/3.0.0.json of the @asyncapi/specs npm package 6.11.1, Apache-2.0),
minified."""

import json
from pathlib import Path

import jsonschema
import pytest

from schemas.asyncapi import asyncapi_document, asyncapi_drifted, render_asyncapi
from schemas.export import TOPIC_MODELS
from streams.area.congestion import CongestedWindow, PartialWindow
from streams.area.judge import AreaJudgement, AreaProgress
from streams.config.topics import TopicNames
from streams.primitives.snapshot import dumps, versioned
from streams.worker.codec import InputProgress, encode_progress, encode_rider_record
from tests.builders import order, ping, redemption, review, weather

HERE = Path(__file__).resolve().parent
CHECKED_IN = HERE.parents[1] / "schemas" / "asyncapi.json"
DOCUMENT = asyncapi_document()
INPUT_ROLES = {"gps", "orders", "weather", "reviews", "redemptions", "profiles"}
INTERNAL_ROLES = {"rider_events", "area_progress", "rider_state", "area_state"}


def test_the_checked_in_document_is_the_generated_one():
    assert not asyncapi_drifted(CHECKED_IN), "run `knightwatch schemas` and commit it"
    assert json.loads(CHECKED_IN.read_text(encoding="utf-8")) == DOCUMENT


def test_a_changed_model_or_topic_is_drift(tmp_path):
    stale = tmp_path / "asyncapi.json"
    stale.write_text(render_asyncapi().replace('"rider-alerts"', '"rider-alert"'),
                     encoding="utf-8")
    assert asyncapi_drifted(stale)
    assert asyncapi_drifted(tmp_path / "missing.json")


def test_the_document_is_valid_against_the_asyncapi_3_schema():
    spec = json.loads((HERE / "asyncapi-3.0.0.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(spec)
    assert [e.message[:200] for e in validator.iter_errors(DOCUMENT)] == []
    wrong = json.loads(json.dumps(DOCUMENT))
    wrong["operations"]["send_alerts"]["action"] = "publish"  # AsyncAPI 2's word
    assert not validator.is_valid(wrong)


def _resolve(ref: str) -> dict:
    node = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_required_structure_of_asyncapi_3():
    assert DOCUMENT["asyncapi"] == "3.0.0"
    assert DOCUMENT["info"]["title"] == "Knightwatch" and DOCUMENT["info"]["version"]
    for channel in DOCUMENT["channels"].values():
        assert channel["address"] and channel["messages"]
        for message in channel["messages"].values():
            assert "payload" in _resolve(message["$ref"])
    for name, operation in DOCUMENT["operations"].items():
        assert operation["action"] in ("send", "receive")
        assert name.startswith(operation["action"])
        channel = _resolve(operation["channel"]["$ref"])
        for message in operation["messages"]:
            # An operation's messages are its channel's.
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert _resolve(message["$ref"]) in channel["messages"].values()


def test_every_topic_setting_is_a_channel_at_its_default_name():
    defaults = {role: field.default for role, field in TopicNames.model_fields.items()}
    assert {role: c["address"] for role, c in DOCUMENT["channels"].items()} == defaults
    public = {a for r, a in defaults.items() if r not in INTERNAL_ROLES}
    assert public == set(TOPIC_MODELS)


def test_knightwatch_receives_inputs_sends_outputs_and_does_both_on_internal_topics():
    actions: dict[str, set[str]] = {}
    for operation in DOCUMENT["operations"].values():
        role = operation["channel"]["$ref"].rsplit("/", 1)[1]
        actions.setdefault(role, set()).add(operation["action"])
    for role in DOCUMENT["channels"]:
        expected = ({"receive"} if role in INPUT_ROLES else {"send", "receive"}
                    if role in INTERNAL_ROLES else {"send"})
        assert actions[role] == expected, role
        tag = ("input" if role in INPUT_ROLES else "internal" if role in INTERNAL_ROLES
               else "output")
        assert DOCUMENT["channels"][role]["tags"] == [{"name": tag}]


def test_keys_and_partitioning_are_documented():
    channels = DOCUMENT["channels"]
    message = _resolve(channels["gps"]["messages"]["GpsPing"]["$ref"])
    assert message["bindings"]["kafka"]["key"] == {"type": "string", "description": "rider_id"}
    assert "same partition count as knightwatch-rider-events" in channels["gps"]["description"]
    for role in ("rider_events", "area_progress"):
        [name] = channels[role]["messages"]
        assert "key" not in _resolve(channels[role]["messages"][name]["$ref"])["bindings"]["kafka"]
        assert "the partition is chosen" in channels[role]["description"]
    state = channels["rider_state"]["bindings"]["kafka"]
    assert state["topicConfiguration"] == {"cleanup.policy": ["compact"]}
    assert channels["gps"]["bindings"]["kafka"]["partitions"] == 12


def _valid(component: str, value) -> bool:
    # The document as the root schema, so its `#/components/...` references resolve; beside a
    # `$ref`, draft 07 ignores the rest of the root.
    root = {**DOCUMENT, "$ref": f"#/components/schemas/{component}"}
    return jsonschema.Draft7Validator(root).is_valid(value)


@pytest.mark.parametrize(("component", "record"), [
    ("GpsPing", ping(speed=18.0)),
    ("OrderEvent", order("o1", "accepted", 0, promised_s=1800)),
    ("WeatherEvent", weather(0)),
    ("AlertReview", review("a1", "dismissed", 0)),
    ("PointRedemption", redemption("p1", 50, 0)),
])
def test_input_payloads_take_the_models_records_and_refuse_broken_ones(component, record):
    value = json.loads(record.model_dump_json())
    assert _valid(component, value)
    assert not _valid(component, {**value, "ts": True})
    assert not _valid(component, {k: v for k, v in value.items() if k != "ts"})


def test_internal_payloads_take_the_records_the_workers_write():
    windows = (CongestedWindow("8930995999bffff", 1_784_080_800_000, 6.5, 18.0),)
    for record, source in [(ping(), (3, 120)), (order("o1", "picked_up", 0), (0, 7)),
                           (weather(0), None), (redemption("p1", 50, 0), (1, 2)),
                           (InputProgress("order-events", 2, 1_784_080_800_000, True, 5), None),
                           (AreaJudgement(1, 1_784_080_800_000, windows), None)]:
        assert _valid("RiderEvents", json.loads(encode_rider_record(record, source))), record
    assert not _valid("RiderEvents", {"k": "gps", "v": {"rider_id": "r1"}})
    partial = PartialWindow(1_784_080_800_000, "8930995999bffff", 54.0, 3, ("r1", "r2"))
    assert _valid("AreaProgress", json.loads(encode_progress(AreaProgress(2, 5, (partial,)))))
    assert _valid("RiderState", json.loads(dumps(versioned("rider", 3, score=97))))
    assert _valid("RiderState", None)  # a tombstone
    assert not _valid("RiderState", {"score": 97})
