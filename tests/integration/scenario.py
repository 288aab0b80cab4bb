"""Input for the fleet tests: the core's property-test city, several times over in time."""

import io
import json

from streams.config.settings import load_settings
from streams.replay.runner import replay
from tests.unit.pipeline.test_arrival_order_properties import _envelope, scenario

HOUR_MS = 3_600_000


def city_lines(copies: int = 1) -> list[bytes]:
    """`copies` hours of the same city, each with its own riders and orders."""
    lines = []
    for c in range(copies):
        for event in scenario():
            update: dict = {"ts": event.ts + c * HOUR_MS}
            for field in ("rider_id", "order_id", "redemption_id"):
                if getattr(event, field, None):
                    update[field] = f"{getattr(event, field)}-h{c}"
            if getattr(event, "promised_ts", None):
                update["promised_ts"] = event.promised_ts + c * HOUR_MS
            if getattr(event, "valid_until", None):
                update["valid_until"] = event.valid_until + c * HOUR_MS
            lines.append(_envelope(event.model_copy(update=update)))
    return lines


def replayed(lines: list[bytes]) -> list[dict]:
    """What `knightwatch replay` says about the same records, as (stream, key, value)."""
    settings = load_settings()
    sink = io.BytesIO()
    replay(io.BytesIO(b"".join(lines)), sink, settings, show_progress=False)
    reverse = {settings.topics.output(s): s for s in (
        "alerts", "deltas", "exemptions", "subsidies", "points", "area_risk", "dead_letters")}
    out = []
    for line in sink.getvalue().splitlines():
        record = json.loads(line)
        out.append({"stream": reverse[record["topic"]], "key": record["key"],
                    "value": record["value"]})
    return out


def canonical(records: list[dict], *, streams: set[str] | None = None) -> set[tuple]:
    """The records as a set. An alert counts by its id, kind and rider: when it left, and so
    its `ts` for a reminder met when a warning arrived and its `realtime` mark, depend on when
    records arrived at each partition; its id, and every final record, do not."""
    return {(r["stream"], r["key"], json.dumps(_comparable(r), sort_keys=True))
            for r in records if streams is None or r["stream"] in streams}


def _comparable(record: dict) -> dict:
    value = record["value"]
    if record["stream"] != "alerts":
        return value
    return {k: value[k] for k in ("alert_id", "kind", "rider_id")}


def final_scores(deltas: list[dict]) -> dict[str, int]:
    """Each rider's score after their latest delta (by event time, then id)."""
    final: dict[str, tuple] = {}
    for d in deltas:
        key = (d["ts"], d["delta_id"])
        if d["rider_id"] not in final or key > final[d["rider_id"]][0]:
            final[d["rider_id"]] = (key, d["score"])
    return {rider: score for rider, (_, score) in final.items()}
