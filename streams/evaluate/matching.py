"""Alerts and exemption decisions matched against ground-truth labels."""

import statistics
from dataclasses import dataclass, field

# An alert belongs to a labelled episode of its rider and kind when it is dated from a little
# before the episode (speeding's onset is judged on noisy fixes) to a minute after it (a
# reminder fires once the rule is met, which can take most of a minute of speeding).
BEFORE_MS = 10_000
AFTER_MS = 60_000
EXEMPTION_REASONS = ("merchant_delay", "customer_unreachable")


@dataclass
class Score:
    name: str
    labelled: int = 0
    found: int = 0
    raised: int = 0  # alerts (or exemptions with this reason) the core produced
    true: int = 0  # of those, the ones a label explains
    delays_ms: list[int] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.true / self.raised if self.raised else None

    @property
    def recall(self) -> float | None:
        return self.found / self.labelled if self.labelled else None

    def delay_s(self, q: float) -> float | None:
        if not self.delays_ms:
            return None
        ordered = sorted(self.delays_ms)
        if len(ordered) == 1:
            return ordered[0] / 1000
        return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1] / 1000


def _near(label: dict, alert: dict) -> bool:
    return (alert["rider_id"] == label["rider_id"]
            and label["start_ts"] - BEFORE_MS <= alert["ts"] <= label["end_ts"] + AFTER_MS)


def score_alerts(labels: list[dict], alerts: list[dict], kinds: list[str]) -> list[Score]:
    scores = []
    for kind in kinds:
        score = Score(kind)
        wanted = [x for x in labels if x["expected"] == kind]
        raised = [a for a in alerts if a["kind"] == kind]
        for label in wanted:
            score.labelled += 1
            hits = [a["ts"] for a in raised if _near(label, a)]
            if hits:
                score.found += 1
                score.delays_ms.append(max(0, min(hits) - label["start_ts"]))
        score.raised = len(raised)
        score.true = sum(1 for a in raised if any(_near(x, a) for x in wanted))
        scores.append(score)
    return scores


def score_exemptions(labels: list[dict], decisions: list[dict]) -> list[Score]:
    """Per exemption reason; 'late, no excuse' counts late orders correctly left unexempted."""
    by_order = {d["order_id"]: d for d in decisions}
    late = [x for x in labels if x["kind"].startswith("late_")]
    scores = []
    for reason in EXEMPTION_REASONS:
        score = Score(reason)
        wanted = {x["params"]["order_id"] for x in late if x["expected"] == reason}
        score.labelled = len(wanted)
        score.found = sum(1 for o in wanted if o in by_order and by_order[o]["exempt"]
                          and reason in by_order[o]["reasons"])
        with_reason = [d for d in decisions if d["exempt"] and reason in d["reasons"]]
        score.raised = len(with_reason)
        score.true = sum(1 for d in with_reason if d["order_id"] in wanted)
        scores.append(score)
    score = Score("late, no excuse")
    unexcused = {x["params"]["order_id"] for x in late if x["expected"] is None}
    score.labelled = len(unexcused)
    score.found = sum(1 for o in unexcused if o in by_order and not by_order[o]["exempt"])
    # No precision: other orders can run late by chance with no excuse, and no label says so.
    scores.append(score)
    return scores
