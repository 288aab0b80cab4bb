import pytest

from streams.primitives.zones import ZoneFileError, ZoneMap
from tests.unit.detectors.zones_fixture import zone_map


def test_bad_zone_files_name_the_feature():
    with pytest.raises(ZoneFileError, match="feature 0"):
        ZoneMap.from_geojson({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"kind": "speed_limit", "name": "x"},
             "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}}
        ]})
    with pytest.raises(ZoneFileError, match="kind must be"):
        ZoneMap.from_geojson({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"kind": "moat"}, "geometry": {}}]})
    with pytest.raises(ZoneFileError, match="FeatureCollection"):
        ZoneMap.from_geojson([])


def test_lookup():
    zones = zone_map(no_entry_at_m=0, limit_at_m=0, limit_kmh=12)
    assert [z.name for z in zones.zones_at(31.23, 121.47)] == ["pedestrian street", "school zone"]
    assert zones.speed_limit_at(31.23, 121.47, 25) == (12, "school zone")
    assert zones.speed_limit_at(31.30, 121.47, 25) == (25, None)
