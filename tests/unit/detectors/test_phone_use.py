from tests.builders import alerts, by_time, order, ride, run_core


def test_confirming_pickup_while_riding_is_phone_use():
    events = by_time([order("o1", "accepted", -5), *ride(speed_kmh=20, duration_s=60),
                      order("o1", "picked_up", 30.5)])
    [alert] = alerts(run_core(events), "phone_use")
    assert alert.evidence["action"] == "picked_up" and alert.evidence["order_id"] == "o1"


def test_confirming_after_stopping_is_fine():
    speeds = [20.0] * 7 + [3.0, 0.0, 0.0, 0.0] + [15.0] * 5
    events = by_time([*ride(speed_kmh=speeds, duration_s=64), order("o1", "delivered", 34)])
    assert alerts(run_core(events), "phone_use") == []


def test_system_events_are_not_rider_actions():
    events = by_time([*ride(speed_kmh=20, duration_s=60), order("o1", "food_ready", 30.5)])
    assert alerts(run_core(events)) == []


def test_threshold_is_10_kmh_by_default():
    events = by_time([*ride(speed_kmh=9, duration_s=60), order("o1", "accepted", 30.5)])
    assert alerts(run_core(events)) == []
