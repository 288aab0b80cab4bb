"""The peers' speeding rule (tests/bench/peers/speeding_rule.py) keeps the detector's numbers:
fast above cap + tolerance, an alert once an episode lasts min_duration_s, once per episode,
none within the cooldown, a gap ending the episode."""

from streams.config.thresholds import Speeding
from tests.bench.peers.speeding_rule import RiderSpeeding, alerts_in, parse_fix, step

RULE = Speeding()
FAST = RULE.national_cap_kmh + RULE.tolerance_kmh + 5
SLOW = RULE.national_cap_kmh


def ride(speeds: list[float | None], every_s: float = 1.0, t0: int = 0,
         state: RiderSpeeding | None = None) -> tuple[list[int], RiderSpeeding | None]:
    """Fixes `every_s` apart; returns the timestamps of the fixes that raised an alert."""
    alerted = []
    for i, speed in enumerate(speeds):
        ts = t0 + int(i * every_s * 1000)
        state, alert = step(state, ts, speed, RULE)
        if alert:
            alerted.append(ts)
    return alerted, state


def test_alert_at_the_fix_that_makes_the_episode_last_min_duration():
    seconds = int(RULE.min_duration_s)
    alerted, _ = ride([FAST] * (seconds + 5))
    assert alerted == [seconds * 1000]


def test_speed_at_cap_plus_tolerance_is_not_fast():
    alerted, _ = ride([RULE.national_cap_kmh + RULE.tolerance_kmh] * 60)
    assert alerted == []


def test_a_slow_fix_ends_the_episode_before_it_lasts_long_enough():
    half = int(RULE.min_duration_s) // 2
    alerted, _ = ride(([FAST] * half + [SLOW]) * 4)
    assert alerted == []


def test_a_gap_longer_than_max_gap_starts_a_new_episode():
    alerted, _ = ride([FAST, FAST], every_s=RULE.max_gap_s + 1)
    assert alerted == []


def test_no_second_alert_within_the_cooldown_after_an_alerted_episode():
    seconds = int(RULE.min_duration_s)
    first, state = ride([FAST] * (seconds + 1) + [SLOW])
    assert state is not None
    end = (seconds + 1) * 1000
    again, _ = ride([FAST] * (seconds + 1), t0=end + 1000, state=state)
    later_t0 = end + int(RULE.cooldown_s * 1000) + 1000
    after, _ = ride([FAST] * (seconds + 1), t0=later_t0, state=state)
    assert (len(first), again, after) == (1, [], [later_t0 + seconds * 1000])


def test_a_fix_without_speed_changes_nothing():
    state, _ = step(None, 0, FAST, RULE)
    assert step(state, 1000, None, RULE) == (state, False)


def test_parse_fix_reads_a_fix_and_refuses_what_is_not_one():
    fix = b'{"rider_id": "r1", "ts": 5, "lat": 0, "lon": 0, "speed_kmh": 30.5}'
    assert parse_fix(fix) == ("r1", 5, 30.5)
    assert parse_fix(b"not json") is None
    assert parse_fix(b'{"ts": 5}') is None


def test_alerts_in_counts_each_riders_episodes_apart():
    def fix(rider: str, ts: int, speed: float) -> bytes:
        return f'{{"rider_id": "{rider}", "ts": {ts}, "speed_kmh": {speed}}}'.encode()

    seconds = int(RULE.min_duration_s)
    # Interleaved: one rider alone would alert; their fixes mixed must not merge episodes.
    values = [fix(r, i * 1000, FAST) for i in range(seconds + 1) for r in ("a", "b")]
    values += [fix("c", i * 1000, FAST) for i in range(seconds)] + [b"malformed"]
    assert alerts_in(values, RULE) == 2
