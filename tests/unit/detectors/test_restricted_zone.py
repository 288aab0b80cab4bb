from tests.builders import alerts, ride, run_core
from tests.unit.detectors.zones_fixture import zone_map


def test_entering_a_no_entry_zone_raises_one_alert_per_visit():
    zones = zone_map(no_entry_at_m=300)  # the ride heads east through it
    out = run_core(ride(speed_kmh=15, duration_s=200, every_s=4), zones=zones)
    [alert] = alerts(out, "restricted_zone")
    assert alert.evidence["zone"] == "pedestrian street"
    assert "pedestrian street" in alert.message.en


def test_riding_elsewhere_raises_nothing():
    zones = zone_map(no_entry_at_m=-3000)
    assert alerts(run_core(ride(speed_kmh=15, duration_s=200), zones=zones)) == []


def test_a_speed_limit_zone_lowers_the_limit():
    zones = zone_map(limit_at_m=0, limit_kmh=15)
    out = run_core(ride(speed_kmh=22, duration_s=60, every_s=4), zones=zones)
    [alert] = alerts(out, "speeding")
    assert alert.evidence["limit_kmh"] == 15 and alert.evidence["zone"] == "school zone"
    assert alerts(run_core(ride(speed_kmh=22, duration_s=60))) == []
