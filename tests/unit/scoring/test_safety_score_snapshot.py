"""A safety score rebuilt from its snapshot applies every later change as the original does."""

from dataclasses import dataclass

import pytest

from schemas import RiderAlert
from streams.config.thresholds import Scoring
from streams.primitives.messages import message
from streams.primitives.snapshot import SnapshotError, dumps, loads
from streams.scoring.safety_score import SafetyScore
from tests.builders import T0

CFG = Scoring(start_score=95, memory_days=1)


@dataclass(frozen=True)
class _Dismissal:
    alert_id: str
    ts: int


@dataclass(frozen=True)
class _Delivery:
    order_id: str
    ts: int
    late_by_s: int = 0
    exempt: bool = False
    penalised_during: bool = False


def _at(t_s: float) -> int:
    return T0 + int(t_s * 1000)


def _alert(alert_id: str, t_s: float, kind: str = "speeding",
           severity: str = "critical") -> RiderAlert:
    return RiderAlert(alert_id=alert_id, rider_id="r1", ts=_at(t_s), kind=kind,
                      severity=severity, message=message("phone_use"), evidence={})


def _script() -> list:
    """Penalties, a dismissal before and one after its alert, a duplicate, late and safe
    deliveries, an alert that costs nothing."""
    return [
        _alert("a1", 60), _Delivery("o1", _at(900)),
        _Dismissal("a2", _at(1000)),  # reviewed before the alert reaches the score
        _alert("a3", 1100, severity="warning"), _alert("fat", 1150, kind="fatigue"),
        _alert("a2", 1200), _Delivery("o2", _at(1800), late_by_s=400),
        _Dismissal("a1", _at(2000)), _alert("a1", 2100),  # a replayed alert changes nothing
        _Delivery("o3", _at(2400), late_by_s=2000), _Delivery("o4", _at(2500), exempt=True,
                                                            late_by_s=100),
        _Delivery("o5", _at(2600), penalised_during=True), _Dismissal("a3", _at(2700)),
        _Delivery("o6", _at(3000)),
    ]


def _feed(score: SafetyScore, step: object, cfg: Scoring = CFG) -> list:
    if isinstance(step, RiderAlert):
        return score.on_alert(step, cfg)
    if isinstance(step, _Dismissal):
        return score.on_dismissal(step.alert_id, step.ts, cfg)
    assert isinstance(step, _Delivery)
    return score.on_delivery(step.order_id, step.ts, late_by_s=step.late_by_s,
                             exempt=step.exempt, penalised_during=step.penalised_during,
                             cfg=cfg)


def _driven(steps: list, cfg: Scoring = CFG) -> SafetyScore:
    score = SafetyScore("r1", cfg)
    for step in steps:
        _feed(score, step, cfg)
    return score


def _through_json(snapshot: dict) -> dict:
    return loads(dumps(snapshot))


@pytest.mark.parametrize("cut", [0, 3, 6, 9, 13])
def test_a_restored_score_continues_like_the_original(cut):
    steps = _script()
    original = _driven(steps[:cut])
    restored = SafetyScore.restore(_through_json(original.snapshot()))
    assert restored.snapshot() == original.snapshot()
    assert restored.last_delta == original.last_delta

    rest = steps[cut:]
    assert [_feed(restored, s) for s in rest] == [_feed(original, s) for s in rest]
    assert restored.snapshot() == original.snapshot()


def test_the_script_leaves_state_worth_restoring():
    score = _driven(_script()[:6])
    assert score.penalties and score._dismissed and score.last_delta is not None
    out = _feed(SafetyScore.restore(_through_json(score.snapshot())), _alert("a1", 60))
    assert out == []  # the replayed alert is remembered as applied


def test_bookkeeping_is_forgotten_on_schedule_across_a_restore():
    # Forgetting runs every 256th applied delta: the count must survive the restore.
    steps = [(f"d{i}", _at(i * 1440), 1 if i % 2 else -1) for i in range(600)]

    def apply(score: SafetyScore, step: tuple) -> object:
        delta_id, ts, change = step
        return score.apply(delta_id, ts, change, "x", delta_id, CFG)

    original = SafetyScore("r1", CFG)
    for step in steps[:200]:
        apply(original, step)
    restored = SafetyScore.restore(_through_json(original.snapshot()))
    assert [apply(restored, s) for s in steps[200:]] == [apply(original, s) for s in steps[200:]]
    assert restored._applied == original._applied and len(original._applied) < 300


def test_a_restored_score_keeps_its_points_but_tiers_by_the_current_settings():
    score = _driven(_script()[:6])
    assert (score.score, score.last_delta.tier) == (85, "B")
    stricter = CFG.model_copy(update={"tier_a_min": 95, "tier_b_min": 90, "tier_c_min": 86})
    restored = SafetyScore.restore(_through_json(score.snapshot()))
    assert restored.score == 85 and restored.last_delta == score.last_delta
    [delta] = _feed(restored, _Delivery("o9", _at(5000)), stricter)
    assert (delta.score, delta.tier) == (86, "C")  # B by the old tiers


def test_the_same_state_gives_the_same_bytes():
    first, second = _driven(_script()[:9]), _driven(_script()[:9])
    assert dumps(first.snapshot()) == dumps(second.snapshot())
    restored = SafetyScore.restore(_through_json(first.snapshot()))
    assert dumps(restored.snapshot()) == dumps(first.snapshot())


@pytest.mark.parametrize("change", [{"kind": "orders.tracker"}, {"v": 2}, {"v": None}])
def test_another_kind_or_an_unknown_version_is_refused(change):
    with pytest.raises(SnapshotError):
        SafetyScore.restore({**_driven(_script()[:6]).snapshot(), **change})
