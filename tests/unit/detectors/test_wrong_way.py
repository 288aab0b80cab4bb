from tests.builders import alerts, ride, run_core
from tests.unit.detectors.zones_fixture import zone_map


def test_riding_against_a_one_way_street():
    zones = zone_map(one_way_north=True)
    out = run_core(ride(speed_kmh=15, duration_s=60, heading_deg=180), zones=zones)
    [alert] = alerts(out, "wrong_way")
    assert alert.evidence["segment"] == "Xizang Rd"


def test_riding_with_the_flow_is_fine():
    zones = zone_map(one_way_north=True)
    assert alerts(run_core(ride(speed_kmh=15, duration_s=60, heading_deg=0), zones=zones)) == []


def test_wrong_way_from_positions_without_device_heading():
    zones = zone_map(one_way_north=True)
    pings = ride(speed_kmh=15, duration_s=60, heading_deg=180, device_heading=False, noise_m=3)
    assert len(alerts(run_core(pings), "wrong_way")) == 0  # no zones given: nothing
    assert len(alerts(run_core(pings, zones=zones), "wrong_way")) == 1


def test_crossing_a_one_way_street_is_not_wrong_way():
    zones = zone_map(one_way_north=True)
    pings = ride(speed_kmh=15, duration_s=60, heading_deg=270, start=(31.2300, 121.4702))
    assert alerts(run_core(pings, zones=zones)) == []
