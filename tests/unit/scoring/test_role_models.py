"""Role-model standings and a city's leaderboard: eligible riders only, best score first, then
points, ties broken by rider_id; the sortable number ranks as the leaderboard does."""

import random

from streams.config.thresholds import RoleModels
from streams.scoring.role_models import POINTS_SPAN, leaderboard, role_models, standing

CFG = RoleModels(min_deliveries=10, per_city=2)


def _standing(rider: str, score: int = 100, points: int = 0, deliveries: int = 10,
              penalised: int = 0, city: str = "shanghai"):
    return standing(rider, city, score, points, deliveries, penalised, CFG)


def test_a_rider_is_eligible_with_enough_deliveries_and_no_penalised_alert():
    assert _standing("r1").eligible
    assert not _standing("r1", deliveries=9).eligible
    assert not _standing("r1", penalised=1).eligible


def test_the_leaderboard_ranks_by_score_then_points_then_rider_id_whatever_the_input_order():
    standings = [_standing("b", 100, 50), _standing("a", 100, 50), _standing("c", 100, 80),
                 _standing("d", 98, 900), _standing("e", 100, 999, deliveries=3),
                 _standing("f", 100, 999, city="beijing")]
    expected = ["c", "a", "b", "d"]
    for seed in range(5):
        random.Random(seed).shuffle(standings)
        assert [s.rider_id for s in leaderboard(standings, "shanghai")] == expected
    assert [s.rider_id for s in leaderboard(standings, "shanghai", limit=3)] == expected[:3]
    assert [s.rider_id for s in role_models(standings, "shanghai", CFG)] == expected[:2]


def test_the_sortable_number_puts_score_before_points():
    higher_score = _standing("a", 91, 0).sort_value
    more_points = _standing("b", 90, POINTS_SPAN - 1).sort_value
    assert higher_score > more_points > _standing("c", 90, 10).sort_value


def test_the_sortable_number_caps_a_huge_balance_and_survives_a_double():
    assert _standing("a", 90, 5 * POINTS_SPAN).sort_value == _standing(
        "b", 90, POINTS_SPAN - 1).sort_value
    largest = _standing("a", 9_000_000, POINTS_SPAN - 1).sort_value
    assert int(float(largest)) == largest, "a double (a Redis sorted set's score) holds it"
