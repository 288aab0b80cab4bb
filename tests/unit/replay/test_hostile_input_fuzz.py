"""Hostile input through replay (the decoder and core the workers run too): records mutated
every way a broken phone or a hostile client can manage never crash anything, are all
accounted for, and change nothing for the riders whose own records are right."""

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.config.settings import load_settings
from streams.replay.runner import replay
from tests.builders import lifecycle, ride
from tests.unit.pipeline.test_arrival_order_properties import ZONES, _envelope, scenario

VICTIMS = ("victim-a", "victim-b")
FAR = (30.5, 120.5)  # far from every clean rider, so no mutated position can reach them


def _victim_events() -> list:
    events = ride("victim-a", duration_s=300, speed_kmh=[18.0] * 30 + [34.0] * 20 + [18.0] * 30,
                  start=FAR, every_s=4)
    events += ride("victim-b", start_s=60, duration_s=300, speed_kmh=16, start=FAR, every_s=4)
    events += lifecycle("vo-1", "victim-b", accept_s=70, promised_s=900, delivered_s=330)
    return events


def _lines() -> tuple[list[bytes], list[int]]:
    events = sorted([*scenario(), *_victim_events()], key=lambda e: e.ts)
    lines = [_envelope(e) for e in events]
    victims = [i for i, e in enumerate(events) if getattr(e, "rider_id", None) in VICTIMS]
    return lines, victims


LINES, VICTIM_LINES = _lines()
# The riders with right clocks and right records. A mutated rider_id makes up a rider of its
# own, whose outputs are that record's, not a clean rider's.
CLEAN = {e.rider_id for e in scenario() if getattr(e, "rider_id", None)} - set(VICTIMS)
FIELDS = ("rider_id", "order_id", "ts", "lat", "lon", "speed_kmh", "heading_deg", "accuracy_m",
          "city", "type", "promised_ts")
ODD_VALUES = st.one_of(st.none(), st.booleans(), st.text(max_size=6),
                       st.lists(st.integers(), max_size=2), st.dictionaries(
                           st.text(max_size=3), st.integers(), max_size=2),
                       st.sampled_from(["inf", "-inf", "nan", "1e9", "", " ", "90"]))
EXTREMES = st.sampled_from([1e308, -1e308, 1e20, -1, 0, 2**63, 10**30, 5e-324, 360, 1e9])
HOUR_MS = 3_600_000


def _edit_value(line: bytes, edit) -> bytes:
    record = json.loads(line)
    edit(record)
    return json.dumps(record).encode() + b"\n"


@st.composite
def mutation(draw) -> tuple[int, bytes]:
    """A mutated copy of one of the victims' records, and where it arrives."""
    index = draw(st.sampled_from(VICTIM_LINES))
    line = LINES[index]
    kind = draw(st.sampled_from(["delete", "swap", "flip", "extreme", "oversize", "skew",
                                 "no key", "copy"]))
    name = draw(st.sampled_from(FIELDS))
    if kind == "flip":
        pos = draw(st.integers(0, len(line) - 2))
        bit = draw(st.integers(0, 7))
        mutated = line[:pos] + bytes([line[pos] ^ (1 << bit)]) + line[pos + 1:]
    elif kind == "delete":
        mutated = _edit_value(line, lambda r: r["value"].pop(name, None))
    elif kind == "swap":
        odd = draw(ODD_VALUES)
        mutated = _edit_value(line, lambda r: r["value"].__setitem__(name, odd))
    elif kind == "extreme":
        value = draw(EXTREMES)
        mutated = _edit_value(line, lambda r: r["value"].__setitem__(name, value))
    elif kind == "oversize":
        size = draw(st.sampled_from([200, 5_000, 70_000]))
        mutated = _edit_value(line, lambda r: r["value"].__setitem__(name, "x" * size))
    elif kind == "skew":
        shift = draw(st.sampled_from([1, -1])) * draw(st.sampled_from(
            [2 * 60_000, 11 * 60_000, HOUR_MS, 30 * 24 * HOUR_MS, 100 * 365 * 24 * HOUR_MS]))
        mutated = _edit_value(line, lambda r: r["value"].__setitem__("ts", r["value"]["ts"]
                                                                      + shift))
    elif kind == "no key":
        mutated = _edit_value(line, lambda r: r.pop("key", None))
    else:
        mutated = line  # redelivered as it was
    return index, mutated


def _run(lines: list[bytes], config=None):
    sink = io.BytesIO()
    # The area clock moves every 16 records, as often as in a busy worker, so that a wrong
    # clock that moved it would show.
    summary = replay(io.BytesIO(b"".join(lines)), sink, config or load_settings(), ZONES,
                     show_progress=False, advance_every=16)
    records = [json.loads(x) for x in sink.getvalue().splitlines()]
    return summary, records


def _for_clean_riders(records: list[dict]) -> dict[str, set]:
    """What the riders with right clocks and right records got."""
    out: dict[str, set] = {"alerts": set(), "final": set()}
    for r in records:
        value = r["value"]
        rider = value.get("rider_id")
        if rider not in CLEAN or r["topic"] in ("dead-letters", "area-risk"):
            continue
        if r["topic"] == "rider-alerts":
            out["alerts"].add((value["alert_id"], value["kind"]))
        else:
            out["final"].add((r["topic"], json.dumps(value, sort_keys=True)))
    return out


_, BASELINE_RECORDS = _run(LINES)
BASELINE = _for_clean_riders(BASELINE_RECORDS)


def test_the_baseline_gives_the_clean_riders_alerts_deltas_and_decisions():
    topics = {topic for topic, _ in BASELINE["final"]}
    assert {"rider-score-deltas", "order-exemptions"} <= topics and len(BASELINE["alerts"]) > 10


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation(), min_size=1, max_size=20))
def test_mutated_records_crash_nothing_are_all_accounted_for_and_spare_the_clean_riders(
        mutations):
    lines = list(LINES)
    # Each mutated copy arrives right after its original; later indexes first, so earlier
    # insertions do not shift them.
    for index, mutated in sorted(mutations, key=lambda m: m[0], reverse=True):
        lines.insert(index + 1, mutated)
    summary, records = _run(lines)
    assert summary.records == len(lines)
    assert summary.records == summary.processed + summary.rejected + summary.duplicates
    assert _for_clean_riders(records) == BASELINE
