"""A rider's story in order: alerts, score changes, exemption decisions, subsidies, safety
points and refused records, each a line on the clock of the rider's city."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import orjson

from streams.config.topics import TopicNames
from streams.primitives.city_names import city_name
from streams.review.local_time import local, zone_label
from streams.review.records import RiderRecords
from streams.scoring.safety_score import PENALISED_KINDS

_WHEN = "%Y-%m-%d %H:%M:%S"
# The longest dead-letter reason shown: enough for the reason itself, not the record's bytes.
_ERROR_CHARS = 120
_YEAR_2100_MS = 4_102_444_800_000  # a refused record's ts past this is no time to show


@dataclass(frozen=True)
class Entry:
    ts: int | None  # event time, epoch ms UTC; None only for a refused record without one
    what: str  # alert, score, decision, subsidy, points, rejected
    text: str


def timeline(records: RiderRecords, topics: TopicNames, zone: ZoneInfo,
             language: str = "en") -> list[Entry]:
    """Entries by event time; entries at the same time keep the output's order (an alert before
    the delta it causes)."""
    describe = {
        topics.alerts: lambda v: _alert(v, language),
        topics.deltas: _delta,
        topics.exemptions: _decision,
        topics.subsidies: _subsidy,
        topics.points: _points,
    }
    entries = []
    # The score and the points balance are running totals in the order changes were applied,
    # which is not always their event time: a delivery's change waits until its area is
    # settled, so a penalty dated after it may come first. The `-> N` of such a change follows
    # the later one's, and says so.
    applied_last: dict[str, int] = {}
    for topic, value in records.outputs:
        if topic == topics.dead_letters:
            entries.append(_rejected(value))
        elif topic in describe:
            what, text = describe[topic](value)
            if topic in (topics.deltas, topics.points):
                before = applied_last.get(topic, value["ts"])
                if before > value["ts"]:
                    text += f"; applied after the change at {_clock(before, zone)}"
                applied_last[topic] = max(before, value["ts"])
            entries.append(Entry(value["ts"], what, text))
    return _in_time_order(entries, records.fixes[0].ts if records.fixes else 0)


def _in_time_order(entries: list[Entry], fallback_ts: int) -> list[Entry]:
    """A refused record without a readable time of its own (None) takes the time of the entry
    before it in the output, or of the one after it when it comes first (or `fallback_ts`
    when nothing has a time)."""
    times = [e.ts for e in entries]
    for i in range(len(times)):
        if times[i] is None and i > 0:
            times[i] = times[i - 1]
    for i in reversed(range(len(times))):
        if times[i] is None and i + 1 < len(times):
            times[i] = times[i + 1]
    timed = [Entry(fallback_ts if ts is None else ts, e.what, e.text)
             for ts, e in zip(times, entries, strict=True)]
    return sorted(timed, key=lambda e: e.ts)  # stable: the output's order at equal times


def _clock(ts: int, zone: ZoneInfo) -> str:
    return f"{local(ts, zone):%H:%M:%S}"


def _alert(v: dict, language: str) -> tuple[str, str]:
    flags = ["penalised" if v["kind"] in PENALISED_KINDS else "no penalty",
             "real-time" if v.get("realtime") else "late firing"]
    said = v["message"][language]
    return "alert", f"{v['kind']} {v['severity']} ({', '.join(flags)}): {said}"


def _delta(v: dict) -> tuple[str, str]:
    return "score", (f"{v['delta']:+d} -> {v['score']} tier {v['tier']} "
                     f"({v['reason']}, ref {v['ref']})")


def _decision(v: dict) -> tuple[str, str]:
    verdict = f"exempt ({', '.join(v['reasons'])})" if v["exempt"] else "not exempt"
    return "decision", f"order {v['order_id']} {_duration(v['late_by_s'])} late: {verdict}"


def _subsidy(v: dict) -> tuple[str, str]:
    return "subsidy", (f"order {v['order_id']}: {v['warning_level']} {v['condition']} "
                       f"warning in {city_name(v['city'], 'en')}")


def _points(v: dict) -> tuple[str, str]:
    if v["reason"] == "redemption_refused":
        return "points", (f"redemption {v['ref']} refused ({v.get('refused')}), balance "
                          f"{v['balance']}")
    reward = f", {v['reward']}" if v.get("reward") else ""
    return "points", f"{v['points']:+d} -> {v['balance']} ({v['reason']}, ref {v['ref']}{reward})"


def _rejected(v: dict) -> Entry:
    error = v["error"] if len(v["error"]) <= _ERROR_CHARS else v["error"][:_ERROR_CHARS] + "..."
    return Entry(_record_ts(v["raw"]), "rejected",
                 f"a {v['source_topic'] or 'replay'} record: {error}")


def _record_ts(raw: str) -> int | None:
    """The refused record's own `ts` when its raw text is a JSON object with an epoch-ms one
    (a late record's canonical JSON is; a record that is not JSON is not)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    ts = value.get("ts") if isinstance(value, dict) else None
    return ts if type(ts) is int and 0 <= ts < _YEAR_2100_MS else None


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def render_timeline(records: RiderRecords, entries: list[Entry], zone: ZoneInfo,
                    topics: TopicNames) -> str:
    city = records.city or "not named in its records"
    first = entries[0].ts if entries else (records.fixes[0].ts if records.fixes else 0)
    lines = [f"Rider {records.rider_id}, city {city}; times {zone_label(zone, first)}"]
    if records.fixes:
        start, end = records.fixes[0].ts, records.fixes[-1].ts
        lines.append(f"Rode {len(records.fixes):,} fixes from {local(start, zone):{_WHEN}} "
                     f"to {local(end, zone):{_WHEN}}")
    day = None
    for entry in entries:
        at = local(entry.ts, zone)
        if at.date() != day:
            day = at.date()
            lines.append(f"{day:%Y-%m-%d %A}")
        lines.append(f"  {_clock(entry.ts, zone)}  {entry.what:<8}  {entry.text}")
    if not entries:
        lines.append("  (no alerts, score changes, decisions, subsidies or points)")
    lines.append(_summary(records, entries, topics))
    return "\n".join(lines)


def _summary(records: RiderRecords, entries: list[Entry], topics: TopicNames) -> str:
    def count(what: str) -> int:
        return sum(e.what == what for e in entries)

    penalised = sum(a["kind"] in PENALISED_KINDS for a in records.values(topics.alerts))
    deltas, points = records.values(topics.deltas), records.values(topics.points)
    return ", ".join([
        f"In all: {_many(count('alert'), 'alert')} ({penalised} penalised)",
        f"score {deltas[-1]['score']} tier {deltas[-1]['tier']}" if deltas
        else "score unchanged",
        f"{points[-1]['balance']} safety points" if points else "no safety points",
        f"{_many(count('decision'), 'late order')} decided",
        f"{_many(count('rejected'), 'record')} rejected",
    ])


def _many(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"
