"""A short text report of a replay's output: what was detected, who is at risk, what it cost."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from streams.config.thresholds import RoleModels
from streams.replay.runner import ReplaySummary
from streams.review.local_time import local, zone_label
from streams.scoring.role_models import RiderStanding, role_models
from streams.scoring.safety_score import PENALISED_KINDS

_SEVERITIES = ("info", "warning", "critical")
# A rider never scored has the starting score; the demo runs with the default settings.
_START = (100, "A")
_MAX_CELLS = 5


def render_summary(output_path: Path, replay_summary: ReplaySummary, time_zone: ZoneInfo,
                   rider_ids: Iterable[str] | None = None,
                   role_models: RoleModels | None = None) -> str:
    """`rider_ids` (every rider in the input) lets riders without any delta count as safest;
    times are shown in `time_zone` (the city's), which the text names; `role_models` (the
    settings the replay ran with) names each city's role models from the replay's standings."""
    alerts: Counter[tuple[str, str]] = Counter()
    alert_riders: dict[str, set[str]] = defaultdict(set)
    lost: Counter[str] = Counter()
    lost_by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    final: dict[str, tuple[int, str]] = {}
    changes: Counter[str] = Counter()
    points: Counter[str] = Counter()
    exempt = Counter[bool]()
    reasons: Counter[str] = Counter()
    other: Counter[str] = Counter()
    area_changes: list[dict] = []
    balance: dict[str, int] = {}  # rider -> safety points after their last change
    ledger: Counter[str] = Counter()  # points by reason; refused redemptions counted
    earners: set[str] = set()
    # cell -> (window start, mean km/h, usual km/h) of congested windows riders were alerted in
    alerted_windows: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    realtime: Counter = Counter()  # alerts that left with the fix that met their rule
    with open(output_path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            record = orjson.loads(line)
            topic, value = record["topic"], record["value"]
            if topic == "rider-alerts":
                alerts[(value["kind"], value["severity"])] += 1
                alert_riders[value["kind"]].add(value["rider_id"])
                realtime[value["kind"]] += value.get("realtime", False)
                if value["kind"] == "congestion":
                    ev = value["evidence"]
                    alerted_windows[ev["cell"]].append(
                        (ev["window_start_ts"], ev["mean_speed_kmh"], ev["usual_speed_kmh"]))
            elif topic == "rider-score-deltas":
                rider, delta = value["rider_id"], value["delta"]
                # Deltas are emitted in each rider's event order, so the last one is current.
                final[rider] = (value["score"], value["tier"])
                sign = "negative" if delta < 0 else "positive"
                changes[sign] += 1
                points[sign] += delta
                if delta < 0:
                    lost[rider] -= delta
                    lost_by_kind[rider][value["reason"]] += 1
            elif topic == "rider-safety-points":
                # Emitted in each rider's event order, so the last balance is current.
                balance[value["rider_id"]] = value["balance"]
                reason = value["reason"]
                ledger[reason] += 1 if reason == "redemption_refused" else value["points"]
                if value["points"] > 0:
                    earners.add(value["rider_id"])
            elif topic == "area-risk":
                area_changes.append(value)
            elif topic == "order-exemptions":
                exempt[value["exempt"]] += 1
                reasons.update(value["reasons"])
            else:
                other[topic] += 1

    lines = ["Alerts by kind            info  warning  critical   riders  penalised  real-time"]
    for kind in sorted({k for k, _ in alerts}):
        counts = [alerts[(kind, s)] for s in _SEVERITIES]
        penalised = "yes" if kind in PENALISED_KINDS else "no"
        lines.append(f"  {kind:<20} {counts[0]:>8,} {counts[1]:>8,} {counts[2]:>9,} "
                     f"{len(alert_riders[kind]):>8,}  {penalised:<9}  {realtime[kind]:>9,}")
    if not alerts:
        lines.append("  (none)")

    lines.append("")
    lines.append("Riders most at risk (points lost, final score and tier)")
    for rider, pts in sorted(lost.items(), key=lambda kv: (-kv[1], kv[0]))[:5]:
        score, tier = final[rider]
        why = ", ".join(f"{k} {n}" for k, n in sorted(lost_by_kind[rider].items()))
        lines.append(f"  {rider}  -{pts:<3} score {score:>3} tier {tier}  ({why})")
    if not lost:
        lines.append("  (no rider lost points)")

    everyone = set(rider_ids or ()) | set(final) | {r for rs in alert_riders.values() for r in rs}
    standing = {r: final.get(r, _START) for r in everyone}
    if standing:
        best = max(score for score, _ in standing.values())
        top = sorted(r for r, (score, _) in standing.items() if score == best)
        tiers = Counter(tier for _, tier in standing.values())
        lines.append("")
        lines.append(f"Safest riders: {len(top):,} at score {best} "
                     f"(e.g. {', '.join(top[:4])}{', ...' if len(top) > 4 else ''})")
        lines.append("Riders by tier: " + ", ".join(f"{t} {tiers[t]:,}" for t in "ABCD"))

    lines.append("")
    lines.extend(_points(balance, ledger, len(earners), standing))
    if role_models is not None:
        lines.append("")
        lines.extend(_role_models(replay_summary.standings, role_models, standing))

    lines.append("")
    lines.extend(_congestion(area_changes, alerted_windows, len(alert_riders["congestion"]),
                             time_zone))

    lines.append("")
    lines.append(f"Score changes: {changes['negative']:,} down ({points['negative']:+,} points), "
                 f"{changes['positive']:,} up ({points['positive']:+,} points)")
    if exempt:
        why = ", ".join(f"{r} {n:,}" for r, n in sorted(reasons.items())) or "none"
        lines.append(f"Late orders: {exempt[True] + exempt[False]:,} decided, "
                     f"{exempt[True]:,} exempt, {exempt[False]:,} not exempt (reasons: {why})")
    else:
        lines.append("Late orders: none")
    extras = ", ".join(f"{t} {n:,}" for t, n in sorted(other.items()) if t != "dead-letters")
    if extras:
        lines.append(f"Other outputs: {extras}")
    lines.append(f"Dead letters: {other['dead-letters']:,}")
    lines.append("")
    lines.append("Replay")
    lines.extend("  " + line for line in replay_summary.render().splitlines())
    return "\n".join(lines)


def _points(balance: dict[str, int], ledger: Counter[str], earners: int,
            standing: dict[str, tuple[int, str]]) -> list[str]:
    """Safety points beside scores: a score capped at 100 shows no credit for safe riding;
    the points balance does."""
    lines = ["Safety points (balance, score and tier)"]
    if not balance:
        return [*lines, "  (no rider earned any)"]
    for rider, points in sorted(balance.items(), key=lambda kv: (-kv[1], kv[0]))[:5]:
        score, tier = standing.get(rider, _START)
        lines.append(f"  {rider}  {points:>5,} points  score {score:>3} tier {tier}")
    earned = (ledger["safe_delivery"] + ledger["severe_weather_delivery"]
              + ledger["safe_riding_day"])
    lines.append(f"  earned {earned:,} ({ledger['severe_weather_delivery']:,} for riding "
                 f"through the storm, {ledger['safe_riding_day']:,} for safe riding days) by "
                 f"{earners:,} riders; redeemed {-ledger['redemption']:,}; redemptions refused "
                 f"{ledger['redemption_refused']:,}")
    return lines


def _role_models(standings: list[RiderStanding], cfg: RoleModels,
                 tiers: dict[str, tuple[int, str]]) -> list[str]:
    """Each city's role models, best first, with what put them there."""
    rule = (f"no penalised alert and at least {cfg.min_deliveries:,} deliveries in the last "
            f"{cfg.period_days} days")
    cities = sorted({s.city for s in standings if s.city is not None})
    if not cities:
        return [f"Safety role models ({rule}): no rider seen"]
    lines = []
    for city in cities:
        riders = [s for s in standings if s.city == city]
        named = role_models(riders, city, cfg)
        eligible = sum(s.eligible for s in riders)
        lines.append(f"Safety role models of {city} ({rule}; {eligible:,} of {len(riders):,} "
                     "riders eligible)")
        for place, s in enumerate(named, 1):
            tier = tiers.get(s.rider_id, _START)[1]
            lines.append(f"  {place:>2}. {s.rider_id}  score {s.score:>3} tier {tier}  "
                         f"{s.points:>5,} points  {s.deliveries:,} deliveries")
        if not named:
            lines.append("  (no rider eligible)")
    return lines


def _cells(n: int) -> str:
    return f"{n:,} cell" if n == 1 else f"{n:,} cells"


def _congestion(changes: list[dict],
                alerted_windows: dict[str, list[tuple[int, float, float]]],
                alerted: int, time_zone: ZoneInfo) -> list[str]:
    """A headline, then one line per congested cell (slowest first): when it was congested and
    its slowest judged window against its usual speed."""
    if not changes:
        return ["Congestion (area-risk): no cell congested"]
    changes = sorted(changes, key=lambda c: (c["ts"], c["cell"]))
    congested = {c["cell"] for c in changes if c["state"] == "congested"}
    released = {c["cell"] for c in changes if c["state"] == "clear"}
    lines = [f"Congestion (area-risk): {len(changes):,} changes, {_cells(len(congested))} "
             f"congested, {len(released):,} released; {alerted:,} riders alerted; times "
             f"{zone_label(time_zone, changes[0]['ts'])}"]

    def clock(ts: int) -> str:
        return local(ts, time_zone).strftime("%H:%M")

    episodes: dict[str, list[str]] = defaultdict(list)
    slowest: dict[str, tuple[float, float]] = {}
    since: dict[str, int] = {}

    def judged(cell: str, start: int, end: float) -> None:
        # The change itself carries the first window; riders' alerts carry later ones.
        windows = [(m, u) for ts, m, u in alerted_windows.get(cell, ()) if start <= ts < end]
        slowest[cell] = min([*windows, slowest[cell]])

    for change in changes:
        cell = change["cell"]
        if change["state"] == "congested":
            since[cell] = change["ts"]
            first = (change["mean_speed_kmh"], change["usual_speed_kmh"])
            slowest[cell] = min(first, slowest.get(cell, first))
        elif cell in since:
            start = since.pop(cell)
            episodes[cell].append(f"{clock(start)}-{clock(change['ts'])}")
            judged(cell, start, change["ts"])
    for cell, start in since.items():
        episodes[cell].append(f"{clock(start)} (not released)")
        judged(cell, start, float("inf"))
    ordered = sorted(congested, key=lambda c: (slowest[c][0], c))
    for cell in ordered[:_MAX_CELLS]:
        mean, usual = slowest[cell]
        lines.append(f"  {cell}  congested {', '.join(episodes[cell])}, slowest window "
                     f"{mean:.1f} km/h vs usual {usual:.1f}")
    if len(ordered) > _MAX_CELLS:
        lines.append(f"  ... and {_cells(len(ordered) - _MAX_CELLS)} more")
    return lines
