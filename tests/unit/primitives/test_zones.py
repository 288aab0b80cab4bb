import itertools
import json
import random
import time

import pytest

from streams.config.thresholds import RestrictedZones
from streams.primitives.geo import offset, point_segment_distance_m
from streams.primitives.zones import ZoneFileError, ZoneMap
from tests.unit.detectors.zones_fixture import square, zone_map

SQUARE = [[[121.40, 31.20], [121.41, 31.20], [121.41, 31.21], [121.40, 31.21], [121.40, 31.20]]]


def feature(kind="no_entry", name="market", geometry=None, **props):
    return {"type": "Feature", "properties": {"kind": kind, "name": name, **props},
            "geometry": geometry or {"type": "Polygon", "coordinates": SQUARE}}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def box(lon0, lat0, lon1, lat1):
    return [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]


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


_ONE_WAY = {"type": "LineString", "coordinates": [[121.4, 31.2], [121.4, 31.21]]}
_POLY = "Polygon"

# (the feature collection, what the one-line message must say): each a file seen in the wild or
# a way to crash or starve the loader.
MALFORMED = [
    ({"type": "FeatureCollection", "features": "x"}, "`features` must be a list of features, "
     "not a string"),
    ({"type": "FeatureCollection", "features": {"a": 1}}, "`features` must be a list of "
     "features, not an object"),
    ({"type": "FeatureCollection"}, "`features` must be a list of features, not null"),
    (collection([1, 2]), "feature 0: a feature must be an object, not a list"),
    (collection({"type": "Point", "properties": {}, "geometry": {}}),
     'feature 0: `type` must be "Feature", not "Point"'),
    (collection({**feature(), "properties": [1]}), "feature 0: `properties` must be an object, "
     "not a list"),
    (collection({**feature(), "properties": None}), "`properties` must be an object, not null"),
    (collection(feature(kind="moat")), 'feature 0 ("market"): kind must be no_entry, '
     'speed_limit or one_way, not "moat"'),
    (collection(feature(kind=None)), "kind must be no_entry, speed_limit or one_way, not null"),
    (collection(feature(name=None)), "feature 0: a no_entry feature needs a `name`"),
    (collection(feature(name="  ")), "feature 0: a no_entry feature needs a `name`"),
    (collection(feature(name=7)), "needs a `name` (alerts carry it), not 7"),
    (collection(feature(name="x" * 201)), "name longer than 200 characters"),
    (collection({**feature(), "geometry": "Polygon"}), 'feature 0 ("market"): `geometry` must be '
     "an object, not a string"),
    (collection({**feature(), "geometry": None}), "`geometry` must be an object, not null"),
    (collection(feature(geometry={"type": _POLY, "coordinates": 5})), 'feature 0 ("market"): '
     "Polygon coordinates must be a list, not a number"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [5]})), "a polygon ring must be "
     "a list, not a number"),
    (collection(feature(geometry={"type": _POLY, "coordinates": []})), "a polygon has no rings"),
    (collection(feature(geometry={"type": "MultiPolygon", "coordinates": []})),
     "MultiPolygon has no polygon"),
    (collection(feature(geometry={"type": "MultiPolygon", "coordinates": [[]]})),
     "a polygon has no rings"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [[[121.4, 31.2]] * 3]})),
     "a polygon ring needs at least 4 positions"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [SQUARE[0][:4]]})),
     "ring is not closed: its last position [121.4, 31.21] must repeat its first [121.4, 31.2]"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [
        [[121.40, 31.2], [121.41, 31.2], [121.42, 31.2], [121.40, 31.2]]]})),
     "degenerate ring: its positions enclose no area"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [[[121.4, 31.2]] * 4]})),
     "degenerate ring"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [
        [[121.4, 31.2], ["121.41", 31.2], [121.41, 31.21], [121.4, 31.2]]]})),
     'a position must be [lon, lat] numbers, not ["121.41", 31.2]'),
    (collection(feature(geometry={"type": _POLY, "coordinates": [
        [[121.4, 31.2], [True, 31.2], [121.41, 31.21], [121.4, 31.2]]]})),
     "a position must be [lon, lat] numbers"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [
        [[121.4, 31.2], [121.41], [121.41, 31.21], [121.4, 31.2]]]})),
     "a position must be [lon, lat] numbers, not [121.41]"),
    (collection(feature(geometry={"type": _POLY, "coordinates": box(31.2, 121.4, 31.21, 121.41)})),
     "position [31.2, 121.4] is not a longitude in [-180, 180] and a latitude in [-90, 90]"),
    (collection(feature(geometry={"type": "Point", "coordinates": [121.4, 31.2]})),
     'a no_entry zone must be a Polygon or MultiPolygon, not "Point"'),
    (collection(feature(geometry=_ONE_WAY)), "a no_entry zone must be a Polygon or MultiPolygon"),
    (collection(feature(kind="speed_limit", name="school")), 'feature 0 ("school"): a '
     "speed_limit zone needs speed_limit_kmh, a number from 1 to 80 (km/h), not null"),
    (collection(feature(kind="speed_limit", speed_limit_kmh="15")), "not \"15\""),
    (collection(feature(kind="speed_limit", speed_limit_kmh=900)), "from 1 to 80 (km/h), not 900"),
    (collection(feature(kind="speed_limit", speed_limit_kmh=0.2)), "not 0.2"),
    (collection(feature(kind="speed_limit", speed_limit_kmh=-5)), "not -5"),
    (collection(feature(kind="speed_limit", speed_limit_kmh=True)), "not true"),
    (collection(feature(kind="one_way", geometry=SQUARE)), "`geometry` must be an object"),
    (collection(feature(kind="one_way")), 'a one_way feature must be a LineString or '
     'MultiLineString, not "Polygon"'),
    (collection(feature(kind="one_way", geometry={"type": "LineString", "coordinates": 5})),
     "LineString coordinates must be a list, not a number"),
    (collection(feature(kind="one_way", geometry={"type": "LineString",
                                                  "coordinates": [[121.4, 31.2]]})),
     "a line needs at least two positions"),
    (collection(feature(kind="one_way", geometry={"type": "LineString",
                                                  "coordinates": [[121.4, 31.2]] * 3})),
     "a one_way line needs two different positions"),
    (collection(feature(kind="one_way", geometry={"type": "MultiLineString",
                                                  "coordinates": [[[121.4, 31.2], 3]]})),
     "a position must be [lon, lat] numbers, not 3"),
    # Feature 1: the index in the message is the feature's place in the file.
    (collection(feature(), feature(name="Yan'an Rd", kind="one_way", geometry={
        "type": "LineString", "coordinates": [[121.4, 31.2], [float("nan"), 31.3]]})),
     "feature 1 (\"Yan'an Rd\"): position [NaN, 31.3] is not a longitude"),
    (collection(feature(geometry={"type": _POLY, "coordinates": [
        [[121.4, 31.2], [float("inf"), 31.2], [121.41, 31.21], [121.4, 31.2]]]})),
     "position [Infinity, 31.2] is not a longitude"),
    (collection(feature(name="world", geometry={"type": _POLY,
                                                "coordinates": box(-180, -90, 180, 90)})),
     'feature 0 ("world"): covers about 761,995,623 km², more than 2,500 km² (setting '
     "detection.zones.max_area_km2)"),
]


@pytest.mark.parametrize(("data", "message"), MALFORMED,
                         ids=[str(i) for i in range(len(MALFORMED))])
def test_each_malformed_file_is_one_line_naming_the_feature_and_the_problem(tmp_path, data,
                                                                           message):
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")  # json writes NaN and Infinity as is
    with pytest.raises(ZoneFileError) as caught:
        ZoneMap.load(path)
    text = str(caught.value)
    assert text.startswith(f"zones file {path}: ")
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"type": "FeatureCollection", "features": [{"name": "\xff\xfe"}]}',
     "not UTF-8 text (bad byte at offset 53)"),
    (b"{not json", "not JSON: Expecting property name"),
    (b"[" * 100_000, "JSON that cannot be read: maximum recursion depth exceeded"),
    (b'{"type": "FeatureCollection", "features": [' + b"9" * 5000 + b"]}",
     "JSON that cannot be read: Exceeds the limit"),
    (b'{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
])
def test_unreadable_files_are_one_line(tmp_path, raw, message):
    path = tmp_path / "zones.geojson"
    path.write_bytes(raw)
    with pytest.raises(ZoneFileError, match=r"^zones file .*: ") as caught:
        ZoneMap.load(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ZoneFileError, match="No such file or directory"):
        ZoneMap.load(tmp_path / "nope.geojson")
    with pytest.raises(ZoneFileError, match="Is a directory"):
        ZoneMap.load(tmp_path)


def test_a_byte_order_mark_is_not_an_error(tmp_path):
    path = tmp_path / "zones.geojson"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(collection(feature())).encode())
    assert [z.name for z in ZoneMap.load(path).zones] == ["market"]


def test_the_bounds_are_settings(tmp_path):
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(collection(*[feature(name=f"z{i}") for i in range(3)])))
    with pytest.raises(ZoneFileError, match=r"3 features, more than 2 \(setting "
                                            r"detection.zones.max_features\)"):
        ZoneMap.load(path, RestrictedZones(max_features=2))
    with pytest.raises(ZoneFileError, match=r"larger than 0.0001 MB \(setting "
                                            r"detection.zones.max_file_mb\)"):
        ZoneMap.load(path, RestrictedZones(max_file_mb=0.0001))
    with pytest.raises(ZoneFileError, match=r'feature 0 \("z0"\): more than 4 vertices \(setting '
                                            r"detection.zones.max_vertices"):
        ZoneMap.load(path, RestrictedZones(max_vertices=4))
    with pytest.raises(ZoneFileError, match=r"covers about 1 km², more than 0.5 km²"):
        ZoneMap.load(path, RestrictedZones(max_area_km2=0.5))
    assert len(ZoneMap.load(path, RestrictedZones(max_features=3)).zones) == 3


def test_holes_count_against_the_area_and_for_lookups():
    lon0, lat0 = 121.4, 31.2
    outer = box(lon0, lat0, lon0 + 0.02, lat0 + 0.02)[0]
    hole = box(lon0 + 0.005, lat0 + 0.005, lon0 + 0.015, lat0 + 0.015)[0]
    zones = ZoneMap.from_geojson(collection(feature(geometry={"type": "Polygon",
                                                              "coordinates": [outer, hole]})))
    assert zones.zones_at(lat0 + 0.002, lon0 + 0.002)
    assert not zones.zones_at(lat0 + 0.01, lon0 + 0.01)
    # ~3.6 km² outer less ~0.9 km² hole
    with pytest.raises(ZoneFileError, match="covers about 3 km²"):
        ZoneMap.from_geojson(collection(feature(geometry={"type": "Polygon",
                                                          "coordinates": [outer, hole]})),
                             limits=RestrictedZones(max_area_km2=2.5))


def test_a_20_degree_square_is_refused_at_once_by_the_area_bound():
    started = time.perf_counter()
    with pytest.raises(ZoneFileError, match=r"covers about 4,3[0-9][0-9],[0-9]{3} km², more than "
                                            r"2,500 km²"):
        ZoneMap.from_geojson(collection(feature(geometry={
            "type": "Polygon", "coordinates": box(100, 20, 120, 40)})))
    assert time.perf_counter() - started < 0.1  # was 13 s and 1.1 GB


def test_a_zone_as_large_as_the_earth_is_indexed_in_a_few_cells_when_allowed():
    # The index no longer grows with a zone's area: with the bound lifted, a world polygon
    # (which exhausted memory before) loads at once and still answers lookups.
    started = time.perf_counter()
    zones = ZoneMap.from_geojson(
        collection(feature(name="world", geometry={"type": "Polygon",
                                                   "coordinates": box(-180, -90, 180, 90)})),
        limits=RestrictedZones(max_area_km2=1e9))
    assert time.perf_counter() - started < 0.1
    assert sum(len(cells) for _, cells in zones._zone_index) <= 16
    assert [z.name for z in zones.zones_at(31.2, 121.4)] == ["world"]
    assert [z.name for z in zones.zones_at(-33.9, 18.4)] == ["world"]


def test_a_5_km_district_with_1000_vertices_loads_in_well_under_a_second(tmp_path):
    # A square of 5 km a side traced with 1,000 positions, the last closing the ring (the
    # default max_vertices).
    lat0, lon0 = 31.2, 121.45
    corners = [offset(lat0, lon0, n, e) for n, e in [(0, 0), (0, 5000), (5000, 5000),
                                                     (5000, 0), (0, 0)]]
    ring = [[lo + (lob - lo) * k / 250, la + (lb - la) * k / 250]
            for (la, lo), (lb, lob) in itertools.pairwise(corners) for k in range(250)]
    path = tmp_path / "district.geojson"
    path.write_text(json.dumps(collection(feature(
        name="district", kind="speed_limit", speed_limit_kmh=15,
        geometry={"type": "Polygon", "coordinates": [[*ring[:999], ring[0]]]}))))
    started = time.perf_counter()
    zones = ZoneMap.load(path)
    assert time.perf_counter() - started < 0.2  # measured ~2 ms
    center = offset(lat0, lon0, 2500, 2500)
    assert zones.speed_limit_at(*center, 25) == (15, "district")
    assert zones.speed_limit_at(*offset(lat0, lon0, -100, 2500), 25) == (25, None)


def test_lookup():
    zones = zone_map(no_entry_at_m=0, limit_at_m=0, limit_kmh=12)
    assert [z.name for z in zones.zones_at(31.23, 121.47)] == ["pedestrian street", "school zone"]
    assert zones.speed_limit_at(31.23, 121.47, 25) == (12, "school zone")
    assert zones.speed_limit_at(31.30, 121.47, 25) == (25, None)


def test_lookups_match_a_brute_force_scan_for_zones_and_segments_of_every_size():
    # Zones from 50 m to 40 km across land on different index levels; lookups must still
    # find exactly what a scan of every feature finds, in file order.
    rng = random.Random(7)
    center = (31.23, 121.47)
    features = []
    for i in range(120):
        half_m = rng.choice([25, 150, 600, 2500, 20_000])
        c = offset(*center, rng.uniform(-15_000, 15_000), rng.uniform(-15_000, 15_000))
        features.append(feature(name=f"z{i}", kind="speed_limit",
                                speed_limit_kmh=rng.choice([10, 15, 20]),
                                geometry={"type": "Polygon", "coordinates": [square(c, half_m)]}))
    for i in range(80):
        a = offset(*center, rng.uniform(-15_000, 15_000), rng.uniform(-15_000, 15_000))
        length = rng.choice([30, 300, 3000, 30_000])
        b = offset(*a, rng.uniform(-length, length), rng.uniform(-length, length))
        features.append(feature(name=f"s{i}", kind="one_way", geometry={
            "type": "LineString", "coordinates": [[a[1], a[0]], [b[1], b[0]]]}))
    zones = ZoneMap.from_geojson(collection(*features))
    assert len(zones._zone_index) > 1 and len(zones._segment_index) > 1  # several levels
    for _ in range(3000):
        lat, lon = offset(*center, rng.uniform(-16_000, 16_000), rng.uniform(-16_000, 16_000))
        assert zones.zones_at(lat, lon) == [z for z in zones.zones if z.contains(lat, lon)]
        for reach in (15, 200):
            near = [(point_segment_distance_m(lat, lon, s.start, s.end), i)
                    for i, s in enumerate(zones.segments)]
            near = [x for x in near if x[0] <= reach]
            found = zones.nearest_one_way(lat, lon, reach)
            if not near:
                assert found is None
            else:
                d, i = min(near)
                assert found == (zones.segments[i], d)


def test_a_fix_200_m_beside_a_segment_finds_it_across_cell_borders():
    # The widest wrong_way.match_distance_m allowed: the index pads segments by as much.
    a = offset(31.23, 121.47, 0, 0)
    b = offset(31.23, 121.47, 40, 0)
    zones = ZoneMap.from_geojson(collection(feature(kind="one_way", name="short", geometry={
        "type": "LineString", "coordinates": [[a[1], a[0]], [b[1], b[0]]]})))
    for north, east in [(20, 199), (20, -199), (239, 0), (-199, 0), (150, 130)]:
        lat, lon = offset(*a, north, east)
        found = zones.nearest_one_way(lat, lon, 200)
        assert found is not None and found[0].name == "short", (north, east)
