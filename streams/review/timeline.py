"""A rider's story in order: alerts, score changes, exemption decisions, subsidies, safety
points and refused records, each a line on the clock of the rider's city."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from streams.config.topics import TopicNames
from streams.primitives.city_names import city_name
from streams.review.local_time import local, zone_label
from streams.review.records import RiderRecords
from streams.scoring.safety_score import PENALISED_KINDS

_WHEN = "%Y-%m-%d %H:%M:%S"
# The longest dead-letter reason shown: enough for the reason itself, not the record's bytes.
_ERROR_CHARS = 120


@dataclass(frozen=True)
class Entry:
    ts: int  # event time, epoch ms UTC
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
    # A dead letter has no time of its own: it stays where the output has it, after the
    # entries before it.
    return _in_time_order(entries)


def _in_time_order(entries: list[Entry]) -> list[Entry]:
    ordered: list[Entry] = []
    last = 0
    keyed = []
    for index, entry in enumerate(entries):
        ts = entry.ts if entry.ts >= 0 else last
        last = ts
        keyed.append((ts, index, entry))
    for ts, _, entry in sorted(keyed, key=lambda k: (k[0], k[1])):
        ordered.append(entry if entry.ts >= 0 else Entry(ts, entry.what, entry.text))
    return ordered


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
    return Entry(-1, "rejected", f"a {v['source_topic'] or 'replay'} record: {error}")


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
