"""The safety-points ledger: earned by safe deliveries (more under severe weather), spent only
by redemptions, a redemption the balance does not cover refused with its reason, and every
change applied once."""

from schemas import PointsChange
from streams.config.thresholds import Scoring
from streams.scoring.safety_points import SafetyPoints
from tests.builders import T0, redemption

CFG = Scoring()


def _earn(points: SafetyPoints, order_id: str, *, safe: bool = True,
          severe_weather: bool = False) -> list[PointsChange]:
    return points.on_delivery(order_id, T0, safe=safe, severe_weather=severe_weather, cfg=CFG)


def test_a_safe_delivery_earns_points_and_one_under_severe_weather_earns_the_bonus_too():
    points = SafetyPoints("r1")
    assert [(c.reason, c.points, c.balance) for c in _earn(points, "o1")] == [
        ("safe_delivery", CFG.safe_delivery_points, CFG.safe_delivery_points)]
    stormy = _earn(points, "o2", severe_weather=True)
    assert [(c.reason, c.points) for c in stormy] == [
        ("safe_delivery", CFG.safe_delivery_points),
        ("severe_weather_delivery", CFG.severe_weather_points)]
    assert points.balance == 2 * CFG.safe_delivery_points + CFG.severe_weather_points


def test_an_unsafe_delivery_earns_nothing():
    points = SafetyPoints("r1")
    assert _earn(points, "o1", safe=False, severe_weather=True) == []
    assert points.balance == 0


def test_a_redemption_the_balance_covers_spends_it():
    points = SafetyPoints("r1")
    _earn(points, "o1")
    _earn(points, "o2")
    [spent] = points.on_redemption(redemption("rd-1", 15, 10), CFG)
    assert (spent.reason, spent.points, spent.balance, spent.reward, spent.ref) == (
        "redemption", -15, 2 * CFG.safe_delivery_points - 15, "helmet", "rd-1")
    assert points.balance == 2 * CFG.safe_delivery_points - 15


def test_a_redemption_with_too_few_points_is_refused_with_its_reason_and_spends_nothing():
    points = SafetyPoints("r1")
    _earn(points, "o1")
    [refused] = points.on_redemption(redemption("rd-1", 500, 10), CFG)
    assert (refused.reason, refused.points, refused.balance) == (
        "redemption_refused", 0, CFG.safe_delivery_points)
    assert refused.refused == f"balance {CFG.safe_delivery_points} is short of the 500 " \
                              "points asked"
    assert points.balance == CFG.safe_delivery_points


def test_a_delivery_or_redemption_seen_again_changes_nothing():
    points = SafetyPoints("r1")
    first = _earn(points, "o1")
    assert _earn(points, "o1") == []
    spend = redemption("rd-1", 5, 10)
    assert points.on_redemption(spend, CFG)
    assert points.on_redemption(spend, CFG) == []
    assert points.balance == first[0].points - 5


def test_change_ids_come_from_their_causes():
    a, b = SafetyPoints("r1"), SafetyPoints("r1")
    assert [c.change_id for c in _earn(a, "o1")] == [c.change_id for c in _earn(b, "o1")]
    assert _earn(a, "o2")[0].change_id != _earn(b, "o3")[0].change_id


def test_a_ledger_restored_from_its_snapshot_goes_on_where_it_stood():
    points = SafetyPoints("r1")
    _earn(points, "o1")
    restored = SafetyPoints.restore(points.snapshot())
    assert restored.balance == points.balance
    assert _earn(restored, "o1") == [], "what it applied is remembered"


def test_a_safe_riding_day_earns_its_points_once_with_an_id_from_rider_and_day():
    points = SafetyPoints("r1")
    [earned] = points.on_safe_day("2026-07-15", T0, CFG)
    assert (earned.reason, earned.points, earned.ref, earned.balance) == (
        "safe_riding_day", CFG.safe_riding_day_points, "2026-07-15", CFG.safe_riding_day_points)
    assert points.on_safe_day("2026-07-15", T0, CFG) == []
    other_rider = SafetyPoints("r2").on_safe_day("2026-07-15", T0, CFG)[0]
    next_day = points.on_safe_day("2026-07-16", T0, CFG)[0]
    assert len({earned.change_id, other_rider.change_id, next_day.change_id}) == 3
