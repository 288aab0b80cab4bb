"""A small zones file around the test origin."""

from streams.primitives.geo import offset
from streams.primitives.zones import ZoneMap
from tests.builders import ORIGIN


def square(center: tuple[float, float], half_m: float) -> list[list[float]]:
    corners = [(-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m)]
    ring = [offset(center[0], center[1], n, e) for n, e in corners]
    return [[lon, lat] for lat, lon in [*ring, ring[0]]]


def zone_map(*, no_entry_at_m: float | None = None, limit_at_m: float | None = None,
             limit_kmh: float = 15, one_way_north: bool = False) -> ZoneMap:
    features = []
    if no_entry_at_m is not None:
        center = offset(*ORIGIN, 0, no_entry_at_m)
        features.append({"type": "Feature",
                         "properties": {"kind": "no_entry", "name": "pedestrian street"},
                         "geometry": {"type": "Polygon", "coordinates": [square(center, 100)]}})
    if limit_at_m is not None:
        center = offset(*ORIGIN, 0, limit_at_m)
        features.append({"type": "Feature",
                         "properties": {"kind": "speed_limit", "name": "school zone",
                                        "speed_limit_kmh": limit_kmh},
                         "geometry": {"type": "Polygon", "coordinates": [square(center, 300)]}})
    if one_way_north:
        a, b = offset(*ORIGIN, -2000, 0), offset(*ORIGIN, 2000, 0)
        features.append({"type": "Feature", "properties": {"kind": "one_way", "name": "Xizang Rd"},
                         "geometry": {"type": "LineString",
                                      "coordinates": [[a[1], a[0]], [b[1], b[0]]]}})
    return ZoneMap.from_geojson({"type": "FeatureCollection", "features": features})
