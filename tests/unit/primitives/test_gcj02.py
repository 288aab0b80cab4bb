import pytest

from streams.config.thresholds import DetectionSettings
from streams.primitives.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from streams.primitives.geo import haversine_m
from streams.primitives.zones import ZoneMap
from tests.builders import alerts, ride, run_core

# Published reference pairs (WGS-84 -> GCJ-02) of the public transform.
REFERENCE = [
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
    ((39.891082, 116.396135), (39.89248436758296, 116.40237600938156)),
]


@pytest.mark.parametrize("wgs,gcj", REFERENCE)
def test_wgs84_to_gcj02_matches_published_reference_points(wgs, gcj):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


def test_beijing_railway_station_lands_where_chinese_maps_draw_it():
    # WGS-84 (39.90105, 116.42079) is drawn at GCJ-02 (39.90245, 116.42703), given to 5
    # decimals (about a metre).
    assert haversine_m(*wgs84_to_gcj02(39.90105, 116.42079), 39.90245, 116.42703) < 1.0


@pytest.mark.parametrize("wgs", [(31.2304, 121.4737), (22.5431, 114.0579), (39.9042, 116.4074)])
def test_gcj02_to_wgs84_undoes_the_offset_within_a_millimetre(wgs):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(*wgs))
    assert haversine_m(*wgs, *back) < 0.001
    assert haversine_m(*wgs, *wgs84_to_gcj02(*wgs)) > 100  # there was an offset to undo


def test_outside_mainland_china_the_frames_coincide():
    assert wgs84_to_gcj02(53.385315, -6.255981) == (53.385315, -6.255981)
    assert gcj02_to_wgs84(53.385315, -6.255981) == (53.385315, -6.255981)


def test_the_core_turns_gcj02_pings_into_wgs84_when_the_input_frame_says_so():
    # A no-entry zone drawn in WGS-84; the same ride reported in GCJ-02 is still caught in it.
    square = [[121.4695, 31.2295], [121.4705, 31.2295], [121.4705, 31.2305],
              [121.4695, 31.2305], [121.4695, 31.2295]]
    zones = ZoneMap.from_geojson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "no_entry", "name": "square"},
         "geometry": {"type": "Polygon", "coordinates": [square]}}]})
    wgs = ride(start=(31.2280, 121.4700), heading_deg=0, speed_kmh=12, every_s=2,
               duration_s=60)
    gcj = [p.model_copy(update=dict(zip(("lat", "lon"), wgs84_to_gcj02(p.lat, p.lon),
                                        strict=True))) for p in wgs]
    as_gcj02 = DetectionSettings(gps={"input_frame": "gcj02"})
    assert alerts(run_core(gcj, as_gcj02, zones), "restricted_zone")
    assert not alerts(run_core(gcj, zones=zones), "restricted_zone")  # read as WGS-84: outside
