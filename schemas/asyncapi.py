"""The AsyncAPI 3.0 document of every topic Knightwatch reads and writes (schemas/asyncapi.json):
channels named by the topics settings' defaults, keys and partitioning, payloads from the same
pydantic models as schemas/json/, and what Knightwatch does on each (receive or send)."""

import copy
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from schemas.export import TOPIC_MODELS, value_schema
from schemas.internal import AREA_PROGRESS, CHECKPOINT, RIDER_EVENT
from streams.config.settings import KnightwatchSettings
from streams.worker.topics import topic_plan

KAFKA_BINDING = "0.5.0"
_ROLES = ("input", "output", "internal")

# Topic setting -> (key, how records are spread over partitions). Inputs and outputs are
# partitioned by their key with Kafka's default (murmur2) partitioner.
_KEYS: dict[str, tuple[str | None, str]] = {
    "gps": ("rider_id", "Rider partition p reads rider-gps partition p itself, so this topic "
            "must be keyed by rider_id with the default partitioner and have the same "
            "partition count as knightwatch-rider-events."),
    "orders": ("order_id", "By order_id; the ingest stage routes each record to its rider."),
    "weather": ("city", "By city; the ingest stage sends each report to every rider "
                "partition."),
    "reviews": ("rider_id", "By rider_id."),
    "redemptions": ("rider_id", "By rider_id."),
    "profiles": ("rider_id", "By rider_id; read by the serving layer only."),
    "alerts": ("rider_id", "By rider_id."),
    "deltas": ("rider_id", "By rider_id."),
    "exemptions": ("order_id", "By order_id."),
    "subsidies": ("rider_id", "By rider_id."),
    "points": ("rider_id", "By rider_id."),
    "area_risk": ("cell", "By H3 cell."),
    "dead_letters": ("the rejected record's key (null for a replay line that is no record)",
                     "By that key."),
    "rider_events": (None, "No key: the partition is chosen, murmur2(rider_id) modulo the "
                     "partitions (the rider's rider-gps partition); weather and judgements go "
                     "to every partition, an input partition's progress to every partition."),
    "area_progress": (None, "No key: the partition is chosen, murmur2(cell) modulo the "
                      "partitions, one congestion judge each."),
    "rider_state": ("`rider:<rider_id>` per rider, `meta` for the partition's own state",
                    "Rider partition p writes partition p."),
    "area_state": ("`meta`", "Judge j writes partition j."),
}

# Internal topic setting -> (payload schema, who sends, who receives).
_INTERNAL: dict[str, tuple[dict[str, Any], str, str]] = {
    "rider_events": (RIDER_EVENT, "the ingest stage and the congestion judges",
                     "the rider partitions"),
    "area_progress": (AREA_PROGRESS, "the rider partitions", "the congestion judges"),
    "rider_state": (CHECKPOINT, "the rider partitions, with every checkpoint",
                    "a rider partition's new owner, to restore it"),
    "area_state": (CHECKPOINT, "the congestion judges, with every checkpoint",
                   "a judge's new owner, to restore it"),
}


def asyncapi_document(settings: KnightwatchSettings | None = None) -> dict[str, Any]:
    """The document for `settings` (the defaults: the contract as published)."""
    # Not from the environment: the checked-in document is the defaults'.
    settings = settings or KnightwatchSettings.model_construct()
    topics, kafka = settings.topics, settings.kafka
    plan = topic_plan(settings)
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    # Profiles are an input of the serving layer, not of detection (no input role).
    inputs = {*topics.input_roles().values(), "profiles"}
    for role, field in type(topics).model_fields.items():
        name = getattr(topics, role)
        kind = ("input" if role in inputs else "internal" if role in _INTERNAL else "output")
        if kind == "internal":
            payload, sender, receiver = _INTERNAL[role]
            message = _pascal(role)
            schemas[message] = copy.deepcopy(payload)
        else:
            model = TOPIC_MODELS[field.default]
            message = model.__name__
            schemas[message] = _hoisted(value_schema(field.default, model), schemas)
        key, partitioning = _KEYS[role]
        partitions, config = plan[name]
        messages[message] = _message(message, schemas[message], key)
        channel = {
            "address": name,
            "title": name,
            "description": f"{field.description} {partitioning}",
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
            "bindings": {"kafka": {
                "topic": name, "partitions": partitions,
                "replicas": kafka.replication_factor,
                **({"topicConfiguration": {"cleanup.policy": [config["cleanup.policy"]]}}
                   if config else {}),
                "bindingVersion": KAFKA_BINDING}},
            "tags": [{"name": kind}],
        }
        channels[role] = channel
        ref = {"$ref": f"#/channels/{role}"}
        message_ref = [{"$ref": f"#/channels/{role}/messages/{message}"}]
        if kind in ("input", "internal"):
            what = (f"Read by {receiver}." if kind == "internal"
                    else f"Knightwatch reads {name}: invalid records become dead letters.")
            operations[f"receive_{role}"] = {"action": "receive", "channel": ref,
                                             "summary": what, "messages": message_ref}
        if kind in ("output", "internal"):
            what = (f"Written by {sender}." if kind == "internal"
                    else f"Knightwatch writes {name} in Kafka transactions (read with "
                    "isolation.level=read_committed).")
            operations[f"send_{role}"] = {"action": "send", "channel": ref, "summary": what,
                                          "messages": message_ref}
    return {
        "asyncapi": "3.0.0",
        "id": "urn:knightwatch:rider-safety",
        "info": {
            "title": "Knightwatch",
            "version": version("knightwatch"),
            "description": "Real-time rider-safety stream processing: the topics Knightwatch "
            "reads (tag input), writes (tag output) and uses between its own workers (tag "
            "internal). Topic names are the defaults, each a setting (KNIGHTWATCH_TOPICS__*). "
            "Keys are strings; `ts` is event time in epoch milliseconds UTC. Generated by "
            "`knightwatch schemas` from the models under schemas/.",
            "tags": [{"name": role} for role in _ROLES],
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": kafka.brokers.split(",")[0], "protocol": "kafka",
                              "description": "The local broker of `make up`."}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _message(name: str, schema: dict[str, Any], key: str | None) -> dict[str, Any]:
    binding: dict[str, Any] = {"bindingVersion": KAFKA_BINDING}
    if key is not None:
        binding["key"] = {"type": "string", "description": key}
    return {"name": name, "title": schema.get("title", name),
            "summary": schema.get("description", name).split("\n")[0],
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "bindings": {"kafka": binding}}


def _hoisted(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$defs` moved into the document's components (its refs rewritten):
    inside the document, `#/$defs/X` would point at the document's root."""
    for name, definition in schema.pop("$defs", {}).items():
        definition = _rewritten(definition)
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two models define {name} differently")
    return _rewritten(schema)


def _rewritten(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else
                    _rewritten(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewritten(v) for v in node]
    return node


def _pascal(role: str) -> str:
    return "".join(part.title() for part in role.split("_"))


def render_asyncapi() -> str:
    return json.dumps(asyncapi_document(), indent=2, ensure_ascii=False) + "\n"


def write_asyncapi(path: Path) -> Path:
    path.write_text(render_asyncapi(), encoding="utf-8")
    return path


def asyncapi_drifted(path: Path) -> bool:
    return not path.exists() or path.read_text(encoding="utf-8") != render_asyncapi()
