"""The speeding detector's rule at the national cap, as plain per-rider state a peer keeps in
its own store: fast means more than `tolerance_kmh` over `national_cap_kmh`; an episode of fast
fixes no more than `max_gap_s` apart alerts once it lasts `min_duration_s`, once per episode,
not again within `cooldown_s` of an alerted episode's end; an episode is cut at
`max_episode_s`. The numbers are the detector's settings (streams.config.thresholds.Speeding);
zone limits are left out: the peers have no zone map."""

import json
from typing import TypedDict

from streams.config.thresholds import Speeding


class RiderSpeeding(TypedDict):
    start_ts: int | None  # the open episode's first fast fix
    last_ts: int | None  # ... and its latest
    alerted: bool
    cooldown_until: int


def fresh() -> RiderSpeeding:
    return {"start_ts": None, "last_ts": None, "alerted": False, "cooldown_until": 0}


def _closed(state: RiderSpeeding, rule: Speeding) -> RiderSpeeding:
    cooldown = state["cooldown_until"]
    if state["alerted"] and state["last_ts"] is not None:
        cooldown = state["last_ts"] + int(rule.cooldown_s * 1000)
    return {"start_ts": None, "last_ts": None, "alerted": False, "cooldown_until": cooldown}


def step(state: RiderSpeeding | None, ts: int, speed_kmh: float | None,
         rule: Speeding) -> tuple[RiderSpeeding, bool]:
    """The rider's state after a fix, and whether this fix raises the speeding alert."""
    s = fresh() if state is None else state
    if s["last_ts"] is not None and ts - s["last_ts"] > rule.max_gap_s * 1000:
        s = _closed(s, rule)
    if speed_kmh is None:
        return s, False
    if speed_kmh - rule.national_cap_kmh <= rule.tolerance_kmh:
        return (_closed(s, rule) if s["start_ts"] is not None else s), False
    start = ts if s["start_ts"] is None else s["start_ts"]
    s = {**s, "start_ts": start, "last_ts": ts}
    alert = (not s["alerted"] and ts - start >= rule.min_duration_s * 1000
             and start >= s["cooldown_until"])
    if alert:
        s["alerted"] = True
    if ts - start >= rule.max_episode_s * 1000:
        s = _closed(s, rule)
    return s, alert


def parse_fix(value: bytes) -> tuple[str, int, float | None] | None:
    """rider_id, ts and speed of a rider-gps record; None for one that is not a fix."""
    try:
        fix = json.loads(value)
        return str(fix["rider_id"]), int(fix["ts"]), fix.get("speed_kmh")
    except (ValueError, KeyError, TypeError):
        return None


def alerts_in(values: list[bytes], rule: Speeding) -> int:
    """How many speeding alerts the rule raises over rider-gps values in topic order (each
    rider's fixes keep their order on its partition): what a peer that read them all owes."""
    states: dict[str, RiderSpeeding] = {}
    alerts = 0
    for value in values:
        fix = parse_fix(value)
        if fix is None:
            continue
        rider, ts, speed = fix
        states[rider], alert = step(states.get(rider), ts, speed, rule)
        alerts += alert
    return alerts
