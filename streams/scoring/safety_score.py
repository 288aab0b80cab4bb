"""A rider's safety score. Every change is a delta with an id derived from its cause, and the
score remembers which ids it applied, so reprocessing an input never counts twice."""

from schemas import RiderAlert, ScoreDelta
from schemas.outputs import Tier
from streams.config.thresholds import Scoring
from streams.core.ids import derived_id

PENALISED_KINDS = frozenset({
    "speeding", "harsh_braking", "harsh_acceleration", "harsh_cornering",
    "restricted_zone", "wrong_way", "phone_use",
})


def tier_for(score: int, cfg: Scoring) -> Tier:
    if score >= cfg.tier_a_min:
        return "A"
    if score >= cfg.tier_b_min:
        return "B"
    if score >= cfg.tier_c_min:
        return "C"
    return "D"


class SafetyScore:
    __slots__ = ("_applied", "penalties", "rider_id", "score")

    def __init__(self, rider_id: str, cfg: Scoring) -> None:
        self.rider_id = rider_id
        self.score = cfg.start_score
        self._applied: set[str] = set()
        self.penalties: dict[str, int] = {}  # alert_id -> points actually taken

    def penalty_for(self, alert: RiderAlert, cfg: Scoring) -> int:
        if alert.kind not in PENALISED_KINDS:
            return 0
        return cfg.penalty_critical if alert.severity == "critical" else (
            cfg.penalty_warning if alert.severity == "warning" else 0
        )

    def on_alert(self, alert: RiderAlert, cfg: Scoring) -> ScoreDelta | None:
        points = self.penalty_for(alert, cfg)
        if points == 0:
            return None
        delta = self.apply(derived_id("delta", "penalty", alert.alert_id), alert.ts, -points,
                           alert.kind, alert.alert_id, cfg)
        if delta is not None:
            self.penalties[alert.alert_id] = -delta.delta
        return delta

    def apply(self, delta_id: str, ts: int, change: int, reason: str, ref: str,
              cfg: Scoring) -> ScoreDelta | None:
        """Apply a change once; the delta carries what was actually applied within the bounds."""
        if delta_id in self._applied:
            return None
        new_score = min(cfg.max_score, max(0, self.score + change))
        applied = new_score - self.score
        self._applied.add(delta_id)
        if applied == 0 and change != 0:
            # At a bound, nothing moves; recording a zero delta would only be noise downstream.
            return None
        self.score = new_score
        return ScoreDelta(delta_id=delta_id, rider_id=self.rider_id, ts=ts, delta=applied,
                          reason=reason, ref=ref, score=new_score, tier=tier_for(new_score, cfg))
