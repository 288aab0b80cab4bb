from streams.serving.layout import (
    SCORE_WEIGHT,
    KeyLayout,
    Standing,
    from_standing,
    role_model_standing,
)


def test_the_leaderboard_orders_by_score_then_points():
    higher_score = role_model_standing(Standing(95, 0, "shanghai"))
    more_points = role_model_standing(Standing(94, SCORE_WEIGHT * 5, "shanghai"))
    fewer_points = role_model_standing(Standing(94, 300, "shanghai"))
    assert higher_score > more_points > fewer_points


def test_a_rider_without_a_city_is_on_no_leaderboard():
    assert role_model_standing(Standing(100, 50, None)) is None


def test_score_and_points_read_back_from_a_standing():
    assert from_standing(float(role_model_standing(Standing(87, 1234, "x")))) == (87, 1234)


def test_every_key_starts_with_the_prefix_and_kinds_do_not_share_a_namespace():
    keys = KeyLayout("kw:")
    names = [keys.rider("a"), keys.alerts("a"), keys.open_orders("a"), keys.leaderboard("a"),
             keys.certified, keys.positions, keys.seen]
    assert all(n.startswith("kw:") for n in names)
    assert len(set(names)) == len(names)
