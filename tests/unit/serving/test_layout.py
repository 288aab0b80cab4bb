from streams.scoring.role_models import RiderStanding
from streams.serving.layout import (
    SCORE_WEIGHT,
    KeyLayout,
    Standing,
    from_standing,
    role_model_standing,
)


def test_the_leaderboard_orders_by_score_then_points():
    higher_score = role_model_standing(Standing(95, 0, "shanghai", True))
    more_points = role_model_standing(Standing(94, SCORE_WEIGHT * 5, "shanghai", True))
    fewer_points = role_model_standing(Standing(94, 300, "shanghai", True))
    assert higher_score > more_points > fewer_points


def test_the_leaderboard_value_is_the_role_models_sort_value():
    ranked = RiderStanding("r1", "shanghai", 94, 300, 70, 0, True)
    assert role_model_standing(Standing(94, 300, "shanghai", True)) == ranked.sort_value


def test_a_rider_without_a_city_is_on_no_leaderboard():
    assert role_model_standing(Standing(100, 50, None, True)) is None


def test_a_rider_not_eligible_as_a_role_model_is_on_no_leaderboard():
    assert role_model_standing(Standing(100, 50, "shanghai", False)) is None


def test_score_and_points_read_back_from_a_standing():
    standing = Standing(87, 1234, "x", True)
    assert from_standing(float(role_model_standing(standing))) == (87, 1234)


def test_every_key_starts_with_the_prefix_and_kinds_do_not_share_a_namespace():
    keys = KeyLayout("kw:")
    names = [keys.rider("a"), keys.alerts("a"), keys.open_orders("a"), keys.leaderboard("a"),
             keys.certified, keys.positions, keys.seen]
    assert all(n.startswith("kw:") for n in names)
    assert len(set(names)) == len(names)
