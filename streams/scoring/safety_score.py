"""A rider's safety score. Every change is a delta with an id derived from its cause, and the
score remembers which ids it applied, so reprocessing an input never counts twice."""

from typing import Any, Self

from schemas import RiderAlert, ScoreDelta
from schemas.outputs import Tier
from streams.config.thresholds import Scoring
from streams.primitives.ids import derived_id
from streams.primitives.snapshot import Migration, Snapshot, fields, versioned

KIND = "scoring.safety_score"
VERSION = 1
MIGRATIONS: dict[int, Migration] = {}

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


def penalty_for(alert: RiderAlert, cfg: Scoring) -> int:
    if alert.kind not in PENALISED_KINDS:
        return 0
    if alert.severity == "critical":
        return cfg.penalty_critical
    return cfg.penalty_warning if alert.severity == "warning" else 0


class SafetyScore:
    __slots__ = ("_applied", "_dismissed", "last_delta", "penalties", "rider_id", "score")

    def __init__(self, rider_id: str, cfg: Scoring) -> None:
        self.rider_id = rider_id
        self.score = cfg.start_score
        self._applied: dict[str, int] = {}  # delta_id -> event time it was applied at
        self.penalties: dict[str, int] = {}  # alert_id -> points actually taken
        self._dismissed: dict[str, int] = {}  # reviewed away (maybe before the alert was seen)
        self.last_delta: ScoreDelta | None = None

    def snapshot(self) -> Snapshot:
        return versioned(
            KIND, VERSION,
            rider_id=self.rider_id, score=self.score,
            applied=dict(self._applied), penalties=dict(self.penalties),
            dismissed=dict(self._dismissed),
            last_delta=None if self.last_delta is None else self.last_delta.model_dump(
                mode="json"),
        )

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Self:
        """No settings: the constructor needs them only for the start score, which a restored
        score already has; every later change tiers and bounds by the cfg it is given."""
        values = fields(data, KIND, VERSION, MIGRATIONS)
        score = cls.__new__(cls)
        score.rider_id = values["rider_id"]
        score.score = values["score"]
        score._applied = dict(values["applied"])
        score.penalties = dict(values["penalties"])
        score._dismissed = dict(values["dismissed"])
        last = values["last_delta"]
        # Kept as it was emitted (tier included): it is the record of the last change.
        score.last_delta = None if last is None else ScoreDelta.model_validate(last)
        return score

    def untouched(self, cfg: Scoring) -> bool:
        """Nothing ever changed this score, and no review is waiting for an alert."""
        return self.score == cfg.start_score and not self._applied and not self._dismissed

    def on_alert(self, alert: RiderAlert, cfg: Scoring) -> list[ScoreDelta]:
        points = penalty_for(alert, cfg)
        if points == 0:
            return []
        evidence = {**alert.evidence, "severity": alert.severity}
        delta = self.apply(derived_id("delta", "penalty", alert.alert_id), alert.ts, -points,
                           alert.kind, alert.alert_id, cfg, evidence)
        if delta is None:
            return []
        self.penalties[alert.alert_id] = -delta.delta
        out = [delta]
        if alert.alert_id in self._dismissed:
            out += self._compensate(alert.alert_id, alert.ts, cfg)
        return out

    def on_dismissal(self, alert_id: str, ts: int, cfg: Scoring) -> list[ScoreDelta]:
        """A reviewer dismissed the alert: give back what it took, once."""
        self._dismissed[alert_id] = ts
        return self._compensate(alert_id, ts, cfg) if alert_id in self.penalties else []

    def dismissed(self, alert_id: str) -> bool:
        """A reviewer dismissed this alert (perhaps before it was found)."""
        return alert_id in self._dismissed

    def _compensate(self, alert_id: str, ts: int, cfg: Scoring) -> list[ScoreDelta]:
        taken = self.penalties.get(alert_id, 0)
        delta = self.apply(derived_id("delta", "dismissal", alert_id), ts, taken,
                           "alert_dismissed", alert_id, cfg)
        return [delta] if delta is not None else []

    def _forget_before(self, horizon: int) -> None:
        # Ids older than the review window cannot come round again (their inputs would be late
        # and reviews that old are not taken), so the rider's bookkeeping stays bounded.
        old = [k for k, ts in self._applied.items() if ts < horizon]
        for delta_id in old:
            del self._applied[delta_id]
        self._dismissed = {k: ts for k, ts in self._dismissed.items() if ts >= horizon}
        keep = {ref for ref in self.penalties if derived_id("delta", "penalty", ref)
                in self._applied}
        self.penalties = {k: v for k, v in self.penalties.items() if k in keep}

    def on_delivery(self, order_id: str, ts: int, *, late_by_s: int, exempt: bool,
                    penalised_during: bool, cfg: Scoring) -> list[ScoreDelta]:
        if late_by_s > 0 and not exempt:
            points = cfg.late_penalty_long if late_by_s >= cfg.late_long_s else cfg.late_penalty
            delta = self.apply(derived_id("delta", "late", order_id), ts, -points,
                               "late_delivery", order_id, cfg)
        elif not penalised_during and cfg.recovery_points:
            delta = self.apply(derived_id("delta", "recovery", order_id), ts,
                               cfg.recovery_points, "safe_delivery", order_id, cfg)
        else:
            delta = None
        return [delta] if delta is not None else []

    def apply(self, delta_id: str, ts: int, change: int, reason: str, ref: str,
              cfg: Scoring, evidence: dict | None = None) -> ScoreDelta | None:
        """Apply a change once; the delta carries what was actually applied within the bounds."""
        if delta_id in self._applied:
            return None
        self._applied[delta_id] = ts
        if len(self._applied) % 256 == 0:
            self._forget_before(ts - int(cfg.memory_days * 86_400_000))
        new_score = min(cfg.max_score, max(0, self.score + change))
        applied = new_score - self.score
        if applied == 0:
            # At a bound nothing moves; a zero delta would only be noise downstream.
            return None
        self.score = new_score
        self.last_delta = ScoreDelta(delta_id=delta_id, rider_id=self.rider_id, ts=ts,
                                     delta=applied, reason=reason, ref=ref, score=new_score,
                                     tier=tier_for(new_score, cfg), evidence=evidence or {})
        return self.last_delta
