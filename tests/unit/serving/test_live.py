from streams.serving.live import LiveRiders
from tests.builders import T0, order, ping


def test_a_batch_hands_over_each_riders_newest_position_once():
    live = LiveRiders()
    live.on_fix(ping("r1", 8, lat=31.3))
    live.on_fix(ping("r1", 4, lat=31.1))  # older, arrived later
    drained = live.drain()
    assert drained.positions["r1"].ts == T0 + 8000 and drained.positions["r1"].lat == 31.3
    assert live.positions == {}


def test_order_steps_say_whether_the_order_is_under_way():
    live = LiveRiders()
    for step in ("accepted", "picked_up", "delivered", "cancelled"):
        live.on_order(order("o1", step, 1))
    assert [under_way for *_, under_way in live.drain().orders] == [True, True, False, False]
