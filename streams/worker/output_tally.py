"""What a partition's held outputs add to the metrics once their transaction commits.

Counted from the typed emissions as they are held, not by reading the committed records back:
the values are at hand then, and parsing every committed record's JSON again cost a checkpoint
time for nothing. Applied only when the transaction commits, so a transaction that is aborted
(a revoked or fenced partition) counts nothing, and the counters match the committed topics.
"""

import time
from collections import Counter as Tally

from prometheus_client import Counter

from schemas import DeadLetter
from streams.primitives.emissions import Emission
from streams.worker import metrics

# A dead letter's error begins with its category; the rest (values, field names, offsets)
# would make the label unbounded. Checked in order: "key " is the key-mismatch message.
_REASON_PREFIXES = (
    ("late:", "late"),
    ("clock ahead:", "clock_ahead"),
    ("order lifecycle:", "order_lifecycle"),
    ("not JSON:", "not_json"),
    ("invalid ", "invalid"),
    ("no key:", "no_key"),
    ("record too large:", "too_large"),
    ("key ", "key_mismatch"),
)
REASON_CATEGORIES = frozenset(category for _, category in _REASON_PREFIXES) | {"other"}


def reason_category(error: str) -> str:
    """The bounded category of a dead letter's error: one of REASON_CATEGORIES."""
    for prefix, category in _REASON_PREFIXES:
        if error.startswith(prefix):
            return category
    return "other"


def wall_ms() -> int:
    return int(time.time() * 1000)


class OutputTally:
    def __init__(self) -> None:
        self.counts: Tally[tuple[Counter, tuple[str, ...]]] = Tally()
        # Per alert held: whether it is real-time, and when the record that raised it arrived.
        self.alert_arrivals: list[tuple[str, int]] = []

    def add(self, emission: Emission, arrived_ms: int | None) -> None:
        """An emission held for the next checkpoint; `arrived_ms`: when the record whose
        processing emitted it arrived (epoch ms), None for one a timer emitted (now, then)."""
        stream, value = emission.stream, emission.value
        if stream == "alerts":
            self.counts[(metrics.ALERTS, (value.kind, value.severity))] += 1  # type: ignore[attr-defined]
            realtime = "true" if value.realtime else "false"  # type: ignore[attr-defined]
            self.alert_arrivals.append((realtime, wall_ms() if arrived_ms is None else arrived_ms))
        elif stream == "deltas":
            self.counts[(metrics.SCORE_DELTAS, (value.reason,))] += 1  # type: ignore[attr-defined]
        elif stream == "exemptions":
            exempt = value.exempt  # type: ignore[attr-defined]
            # Reasons come in the order of precedence: the first one decided the outcome.
            reason = value.reasons[0] if exempt and value.reasons else "none"  # type: ignore[attr-defined]
            self.counts[(metrics.DECISIONS, ("exempt" if exempt else "not_exempt", reason))] += 1
        elif stream == "points":
            self.counts[(metrics.SAFETY_POINTS, (value.reason,))] += 1  # type: ignore[attr-defined]
        elif stream == "dead_letters":
            self.add_dead_letter(value)  # type: ignore[arg-type]

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self.counts[(metrics.RECORDS_REJECTED,
                     (letter.source_topic, reason_category(letter.error)))] += 1

    def publish(self, committed_ms: int) -> None:
        """The transaction holding these outputs committed at `committed_ms` (epoch ms)."""
        for (counter, labels), n in self.counts.items():
            counter.labels(*labels).inc(n)
        for realtime, arrived_ms in self.alert_arrivals:
            # A producer's clock ahead of this worker's must not make a latency negative.
            metrics.ALERT_LATENCY.labels(realtime).observe(max(0, committed_ms - arrived_ms) / 1000)
