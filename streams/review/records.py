"""One rider's records, read from a replay's output and input files."""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from pydantic import ValidationError

from schemas import GpsPing, OrderEvent
from streams.config.topics import TopicNames
from streams.review.files import ReviewError, ReviewFiles

# Riders named when the one asked for is not there: enough to spot a typo's right spelling.
_RIDERS_SHOWN = 5


@dataclass
class RiderRecords:
    rider_id: str
    outputs: list[tuple[str, dict]] = field(default_factory=list)  # (topic, value), file order
    fixes: list[GpsPing] = field(default_factory=list)  # from the input, valid ones, by ts
    cities: Counter[str] = field(default_factory=Counter)  # city ids the rider's records name

    @property
    def city(self) -> str | None:
        """The city the rider's records name most often; None when none does."""
        return self.cities.most_common(1)[0][0] if self.cities else None

    def values(self, topic: str) -> list[dict]:
        return [value for t, value in self.outputs if t == topic]


def read_rider(files: ReviewFiles, rider_id: str, topics: TopicNames) -> RiderRecords:
    records = RiderRecords(rider_id)
    orders = _read_input(files.input, records, topics) if files.input else set()
    _read_output(files.output, records, topics, orders)
    if not records.outputs and not records.fixes and not orders:
        raise ReviewError(_unknown(rider_id, files))
    records.fixes.sort(key=lambda f: f.ts)
    return records


def _read_input(path: Path, records: RiderRecords, topics: TopicNames) -> set[str]:
    """The rider's fixes and city into `records`; returns the ids of the rider's orders."""
    needle = orjson.dumps(records.rider_id)
    orders: set[str] = set()
    with open(path, "rb") as f:
        for line in f:
            if needle not in line:  # most lines are other riders': skip them unparsed
                continue
            record = _record(line)
            if record is None:
                continue
            topic, value = record
            try:
                if topic == topics.gps and value.get("rider_id") == records.rider_id:
                    fix = GpsPing.model_validate(value)
                    records.fixes.append(fix)
                    records.cities.update([fix.city] if fix.city else [])
                elif topic == topics.orders and value.get("rider_id") == records.rider_id:
                    order = OrderEvent.model_validate(value)
                    orders.add(order.order_id)
                    records.cities.update([order.city] if order.city else [])
            except ValidationError:
                continue  # the replay refused it too: a dead letter, shown from the output
    return orders


def _read_output(path: Path, records: RiderRecords, topics: TopicNames,
                 orders: set[str]) -> None:
    rider = records.rider_id
    needle = orjson.dumps(rider)[1:-1]  # a dead letter's raw holds it escaped once more
    with open(path, "rb") as f:
        for line in f:
            if needle not in line:
                continue
            record = _record(line)
            if record is None:
                continue
            topic, value = record
            if topic == topics.dead_letters:
                if value.get("key") == rider or value.get("key") in orders:
                    records.outputs.append((topic, value))
            elif value.get("rider_id") == rider:
                records.outputs.append((topic, value))
                if topic == topics.subsidies:
                    records.cities.update([value["city"]])
                elif topic == topics.alerts and value.get("kind") == "severe_weather":
                    records.cities.update([value["evidence"]["city"]])


def _record(line: bytes) -> tuple[str, dict] | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("value"), dict):
        return None
    return str(record.get("topic")), record["value"]


def _unknown(rider_id: str, files: ReviewFiles) -> str:
    where = f"{files.output}" + (f" or {files.input}" if files.input else "")
    seen = _some_riders(files.output)
    hint = (f"riders there include {', '.join(seen)}" if seen
            else "it names no rider: was the replay run on this input?")
    return f"rider {rider_id!r}: no record of this rider in {where}; {hint}"


def _some_riders(path: Path) -> list[str]:
    riders: set[str] = set()
    with open(path, "rb") as f:
        for line in f:
            record = _record(line)
            rider = record[1].get("rider_id") if record else None
            if isinstance(rider, str):
                riders.add(rider)
    return sorted(riders)[:_RIDERS_SHOWN]
