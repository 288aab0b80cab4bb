"""Restricted zones and one-way segments from a GeoJSON FeatureCollection.

Polygons carry `kind` = `no_entry` or `speed_limit` (with `speed_limit_kmh`); LineStrings carry
`kind` = `one_way`, the allowed direction being the order of their coordinates. Every feature
needs a `name`: alerts carry it and per-zone cooldowns are keyed by it.

The file comes from outside, so all of it is checked before anything uses it, and it is bounded
by the `detection.zones` settings (file size, features, vertices of one feature, area of one
zone): a zones file is loaded by every worker and a zone's vertices are tested for every fix
inside its bounding box. Each problem is a ZoneFileError of one line naming the feature (index
and name) and what is wrong with it.
"""

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.config.thresholds import ONE_WAY_MAX_MATCH_M, RestrictedZones
from streams.primitives.geo import (
    EARTH_RADIUS_M,
    bearing_deg,
    point_in_ring,
    point_segment_distance_m,
)

# The lookup index is a pyramid of grids: cells of _BASE_DEG (~280 m north-south), each level
# _RATIO times coarser. A feature is indexed at the finest level where its bounding box spans at
# most _SPAN cells a side, so it takes at most _SPAN² entries whatever its size. (One grid of
# fixed cells takes area / cell² entries: 4 million for a 20° square, which is what made a
# world-sized polygon exhaust memory.) A fix looks into one cell of each level in use; a city's
# file uses two or three.
_BASE_DEG = 0.0025
_RATIO = 4
_SPAN = 4
_LEVELS = 9  # 0.0025° · 4⁸ ≈ 164°: the coarsest level holds a box as large as the Earth

_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180

# A zone limit outside this range is not one for riders: below 1 km/h nobody rides (that is a
# no_entry zone); above 80 km/h no e-bike rides (GPS hygiene takes such speeds for jumps), so it
# is a car limit or a unit slip.
_MIN_LIMIT_KMH = 1.0
_MAX_LIMIT_KMH = 80.0
# Names travel in every alert about the zone; a paragraph is a mistake, not a name.
_MAX_NAME_CHARS = 200
# A ring enclosing less than this (m²) is degenerate: its points are (nearly) on one line.
_MIN_RING_AREA_M2 = 1.0

_ZONE_KINDS = ("no_entry", "speed_limit")
_KINDS = (*_ZONE_KINDS, "one_way")


class ZoneFileError(ValueError):
    """The zones file cannot be used; the message names the feature and the problem."""


@dataclass(frozen=True)
class Zone:
    name: str
    kind: str  # "no_entry" | "speed_limit"
    speed_limit_kmh: float | None
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]  # [polygon][ring][(lon,lat)]
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

    def contains(self, lat: float, lon: float) -> bool:
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
            return False
        for rings in self.polygons:
            if point_in_ring(lat, lon, list(rings[0])) and not any(
                point_in_ring(lat, lon, list(hole)) for hole in rings[1:]
            ):
                return True
        return False


@dataclass(frozen=True)
class OneWaySegment:
    name: str
    start: tuple[float, float]  # (lat, lon)
    end: tuple[float, float]
    bearing_deg: float


# (cell size in degrees, cell -> indices of the features whose box touches it), one per level.
_Index = list[tuple[float, dict[tuple[int, int], list[int]]]]


@dataclass
class ZoneMap:
    zones: list[Zone] = field(default_factory=list)
    segments: list[OneWaySegment] = field(default_factory=list)
    _zone_index: _Index = field(default_factory=list)
    _segment_index: _Index = field(default_factory=list)

    @classmethod
    def empty(cls) -> "ZoneMap":
        return cls()

    @classmethod
    def load(cls, path: str | Path, limits: RestrictedZones | None = None) -> "ZoneMap":
        """`limits`: the `detection.zones` settings (their defaults when None)."""
        limits = limits or RestrictedZones()
        source = f"zones file {path}"
        max_bytes = int(limits.max_file_mb * 1_000_000)
        try:
            # Read one byte past the bound rather than trusting stat(): a pipe or a growing file
            # has no size to check beforehand.
            with open(path, "rb") as f:
                raw = f.read(max_bytes + 1)
        except OSError as exc:
            raise ZoneFileError(f"{source}: {exc.strerror or exc}") from exc
        if len(raw) > max_bytes:
            raise ZoneFileError(
                f"{source}: larger than {limits.max_file_mb:g} MB "
                "(setting detection.zones.max_file_mb)")
        try:
            # utf-8-sig: a byte-order mark, which some editors write, is not an error.
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ZoneFileError(f"{source}: not UTF-8 text (bad byte at offset {exc.start})"
                                ) from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ZoneFileError(f"{source}: not JSON: {exc}") from exc
        except (ValueError, RecursionError) as exc:
            # Nesting deeper than the parser's stack, or an integer of thousands of digits.
            raise ZoneFileError(f"{source}: JSON that cannot be read: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                ) from exc
        return cls.from_geojson(data, source=source, limits=limits)

    @classmethod
    def from_geojson(cls, data: Any, source: str = "zones",
                     limits: RestrictedZones | None = None) -> "ZoneMap":
        limits = limits or RestrictedZones()
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise ZoneFileError(f"{source}: expected a GeoJSON FeatureCollection")
        features = data.get("features")
        if not isinstance(features, list):
            raise ZoneFileError(f"{source}: `features` must be a list of features, not "
                                f"{_type_name(features)}")
        if len(features) > limits.max_features:
            raise ZoneFileError(f"{source}: {len(features):,} features, more than "
                                f"{limits.max_features:,} (setting detection.zones.max_features)")
        zone_map = cls()
        for i, feature in enumerate(features):
            kind, name, props, geometry = _feature_parts(f"{source}: feature {i}", feature)
            where = f"{source}: feature {i} ({_show(name)})"
            gtype, coords = geometry.get("type"), geometry.get("coordinates")
            if kind in _ZONE_KINDS:
                zone_map.zones.append(_parse_zone(where, name, kind, props, gtype, coords, limits))
            else:
                zone_map.segments.extend(_parse_one_way(where, name, gtype, coords, limits))
        zone_map._build_index()
        return zone_map

    def _build_index(self) -> None:
        self._zone_index = _build_grid([zone.bbox for zone in self.zones])
        boxes = []
        for seg in self.segments:
            lat0, lat1 = sorted((seg.start[0], seg.end[0]))
            lon0, lon1 = sorted((seg.start[1], seg.end[1]))
            # Padded by the farthest a fix may be from a segment and still match it (the bound
            # of wrong_way.match_distance_m), so a fix beside the segment finds it in its cell.
            pad_lat = ONE_WAY_MAX_MATCH_M / _M_PER_DEG
            cos_lat = max(math.cos(math.radians(max(abs(lat0), abs(lat1)))), 0.01)
            pad_lon = pad_lat / cos_lat
            boxes.append((max(lon0 - pad_lon, -180.0), max(lat0 - pad_lat, -90.0),
                          min(lon1 + pad_lon, 180.0), min(lat1 + pad_lat, 90.0)))
        self._segment_index = _build_grid(boxes)

    def zones_at(self, lat: float, lon: float) -> list[Zone]:
        zones = self.zones
        hits: list[int] = []
        for size, cells in self._zone_index:
            candidates = cells.get((math.floor(lat / size), math.floor(lon / size)))
            if candidates:
                hits.extend(i for i in candidates if zones[i].contains(lat, lon))
        if len(hits) > 1:
            hits.sort()  # file order whatever the levels, as callers break ties by order
        return [zones[i] for i in hits]

    def speed_limit_at(
        self, lat: float, lon: float, default_kmh: float
    ) -> tuple[float, str | None]:
        """The lowest limit that applies here and the zone that sets it (None: the default)."""
        if not self.zones:
            return default_kmh, None
        best, name = default_kmh, None
        for zone in self.zones_at(lat, lon):
            limit = zone.speed_limit_kmh
            if zone.kind == "speed_limit" and limit is not None and limit < best:
                best, name = limit, zone.name
        return best, name

    def nearest_one_way(
        self, lat: float, lon: float, max_distance_m: float
    ) -> tuple[OneWaySegment, float] | None:
        best: tuple[float, int] | None = None  # (distance, index): ties go to file order
        for size, cells in self._segment_index:
            candidates = cells.get((math.floor(lat / size), math.floor(lon / size)))
            if not candidates:
                continue
            for i in candidates:
                seg = self.segments[i]
                d = point_segment_distance_m(lat, lon, seg.start, seg.end)
                if d <= max_distance_m and (best is None or (d, i) < best):
                    best = (d, i)
        return None if best is None else (self.segments[best[1]], best[0])


def _build_grid(boxes: list[tuple[float, float, float, float]]) -> _Index:
    """Index boxes (min_lon, min_lat, max_lon, max_lat), each at the finest level where it spans
    at most _SPAN cells a side."""
    levels: dict[int, dict[tuple[int, int], list[int]]] = {}
    for i, (lon0, lat0, lon1, lat1) in enumerate(boxes):
        for level in range(_LEVELS):
            size = _BASE_DEG * _RATIO**level
            rows = range(math.floor(lat0 / size), math.floor(lat1 / size) + 1)
            cols = range(math.floor(lon0 / size), math.floor(lon1 / size) + 1)
            if len(rows) <= _SPAN and len(cols) <= _SPAN:
                break
        cells = levels.setdefault(level, {})
        for cell in itertools.product(rows, cols):
            cells.setdefault(cell, []).append(i)
    return [(_BASE_DEG * _RATIO**level, cells) for level, cells in sorted(levels.items())]


# -- checking the file -------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")


def _show(value: Any) -> str:
    """A value for a one-line message, as JSON (the file's own notation: null, "name"), which
    escapes newlines; long values are cut."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _feature_parts(where: str, feature: Any) -> tuple[str, str, dict, dict]:
    """kind, name, properties and geometry of a feature, each checked for its type."""
    if not isinstance(feature, dict):
        raise ZoneFileError(f"{where}: a feature must be an object, not {_type_name(feature)}")
    if feature.get("type") != "Feature":
        raise ZoneFileError(
            f"{where}: `type` must be \"Feature\", not {_show(feature.get('type'))}")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise ZoneFileError(f"{where}: `properties` must be an object, not {_type_name(props)}")
    name = props.get("name")
    if isinstance(name, str) and name.strip():
        where = f"{where} ({_show(name)})"
    kind = props.get("kind")
    if kind not in _KINDS:
        raise ZoneFileError(
            f"{where}: kind must be no_entry, speed_limit or one_way, not {_show(kind)}")
    if not isinstance(name, str) or not name.strip():
        raise ZoneFileError(f"{where}: a {kind} feature needs a `name` (alerts carry it), "
                            f"not {_show(name)}")
    if len(name) > _MAX_NAME_CHARS:
        raise ZoneFileError(f"{where}: name longer than {_MAX_NAME_CHARS} characters")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise ZoneFileError(f"{where}: `geometry` must be an object, not {_type_name(geometry)}")
    return kind, name, props, geometry


def _position(where: str, p: Any) -> tuple[float, float]:
    """A GeoJSON position [lon, lat] (an altitude after them is allowed and ignored)."""
    if not isinstance(p, list) or len(p) not in (2, 3) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in p):
        raise ZoneFileError(f"{where}: a position must be [lon, lat] numbers, not {_show(p)}")
    lon, lat = float(p[0]), float(p[1])
    # NaN fails both comparisons, so it is caught here with the infinities.
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ZoneFileError(f"{where}: position {_show(p)} is not a longitude in [-180, 180] "
                            "and a latitude in [-90, 90]")
    return lon, lat


def _list(where: str, value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise ZoneFileError(f"{where}: {what} must be a list, not {_type_name(value)}")
    return value


class _Budget:
    """Vertices of one feature, counted as they are read so an oversized one stops early."""

    def __init__(self, where: str, limits: RestrictedZones) -> None:
        self.where, self.left, self.max = where, limits.max_vertices, limits.max_vertices

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ZoneFileError(
                f"{self.where}: more than {self.max:,} vertices (setting "
                "detection.zones.max_vertices; simplify the outline, ~10 m is plenty)")


def _ring(where: str, raw: Any, budget: _Budget) -> tuple[tuple[float, float], ...]:
    positions = _list(where, raw, "a polygon ring")
    budget.take(len(positions))
    points = tuple(_position(where, p) for p in positions)
    if len(points) < 4:
        raise ZoneFileError(f"{where}: a polygon ring needs at least 4 positions (the last "
                            f"repeating the first), not {len(points)}")
    if points[0] != points[-1]:
        raise ZoneFileError(f"{where}: ring is not closed: its last position "
                            f"{list(points[-1])} must repeat its first {list(points[0])}")
    if len(set(points)) < 3 or _ring_area_m2(points) < _MIN_RING_AREA_M2:
        raise ZoneFileError(f"{where}: degenerate ring: its positions enclose no area")
    return points


def _ring_area_m2(ring: tuple[tuple[float, float], ...]) -> float:
    """Area on a local flat projection (shoelace): exact enough to bound a zone's size."""
    k_lat = _M_PER_DEG
    k_lon = _M_PER_DEG * math.cos(math.radians(sum(p[1] for p in ring) / len(ring)))
    twice = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        twice += (x0 * k_lon) * (y1 * k_lat) - (x1 * k_lon) * (y0 * k_lat)
    return abs(twice) / 2


def _parse_zone(where: str, name: str, kind: str, props: dict, gtype: Any, coords: Any,
                limits: RestrictedZones) -> Zone:
    limit = None
    if kind == "speed_limit":
        limit = props.get("speed_limit_kmh")
        if (not isinstance(limit, int | float) or isinstance(limit, bool)
                or not _MIN_LIMIT_KMH <= limit <= _MAX_LIMIT_KMH):
            raise ZoneFileError(
                f"{where}: a speed_limit zone needs speed_limit_kmh, a number from "
                f"{_MIN_LIMIT_KMH:g} to {_MAX_LIMIT_KMH:g} (km/h), not {_show(limit)}")
        limit = float(limit)
    if gtype == "Polygon":
        polygons_raw = [_list(where, coords, "Polygon coordinates")]
    elif gtype == "MultiPolygon":
        polygons_raw = _list(where, coords, "MultiPolygon coordinates")
    else:
        raise ZoneFileError(f"{where}: a {kind} zone must be a Polygon or MultiPolygon, "
                            f"not {_show(gtype)}")
    if not polygons_raw:
        raise ZoneFileError(f"{where}: {gtype} has no polygon")
    budget = _Budget(where, limits)
    polygons = []
    area_m2 = 0.0
    for raw in polygons_raw:
        rings = tuple(_ring(where, r, budget) for r in _list(where, raw, "a polygon"))
        if not rings:
            raise ZoneFileError(f"{where}: a polygon has no rings")
        polygons.append(rings)
        area_m2 += _ring_area_m2(rings[0]) - sum(_ring_area_m2(hole) for hole in rings[1:])
    area_km2 = area_m2 / 1e6
    if area_km2 > limits.max_area_km2:
        raise ZoneFileError(
            f"{where}: covers about {area_km2:,.0f} km², more than {limits.max_area_km2:,g} km² "
            "(setting detection.zones.max_area_km2)")
    lons = [p[0] for rings in polygons for p in rings[0]]
    lats = [p[1] for rings in polygons for p in rings[0]]
    return Zone(name, kind, limit, tuple(polygons),
                (min(lons), min(lats), max(lons), max(lats)))


def _parse_one_way(where: str, name: str, gtype: Any, coords: Any,
                   limits: RestrictedZones) -> list[OneWaySegment]:
    if gtype == "LineString":
        lines = [_list(where, coords, "LineString coordinates")]
    elif gtype == "MultiLineString":
        lines = _list(where, coords, "MultiLineString coordinates")
    else:
        raise ZoneFileError(f"{where}: a one_way feature must be a LineString or "
                            f"MultiLineString, not {_show(gtype)}")
    budget = _Budget(where, limits)
    segments = []
    for line in lines:
        positions = _list(where, line, "a line")
        budget.take(len(positions))
        if len(positions) < 2:
            raise ZoneFileError(f"{where}: a line needs at least two positions")
        points = [(lat, lon) for lon, lat in (_position(where, p) for p in positions)]
        for a, b in itertools.pairwise(points):
            if a != b:  # a repeated position gives no direction; the next pair will
                segments.append(OneWaySegment(name, a, b, bearing_deg(a[0], a[1], b[0], b[1])))
    if not segments:
        raise ZoneFileError(f"{where}: a one_way line needs two different positions "
                            "(its direction is from one to the next)")
    return segments
