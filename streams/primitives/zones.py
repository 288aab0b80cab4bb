"""Restricted zones and one-way segments from a GeoJSON FeatureCollection.

Polygons carry `kind` = `no_entry` or `speed_limit` (with `speed_limit_kmh`); LineStrings carry
`kind` = `one_way`, the allowed direction being the order of their coordinates.
"""

import itertools
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.primitives.geo import bearing_deg, point_in_ring, point_segment_distance_m

# Grid cell of the lookup index, in degrees (about 1 km): small enough that a ping is tested
# against few zones, large enough that a city's zone file stays a small dict.
_CELL_DEG = 0.01


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


@dataclass
class ZoneMap:
    zones: list[Zone] = field(default_factory=list)
    segments: list[OneWaySegment] = field(default_factory=list)
    _zone_index: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    _segment_index: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> "ZoneMap":
        return cls()

    @classmethod
    def load(cls, path: str | Path) -> "ZoneMap":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ZoneFileError(f"zones file {path}: {exc}") from exc
        return cls.from_geojson(data, source=str(path))

    @classmethod
    def from_geojson(cls, data: Any, source: str = "zones") -> "ZoneMap":
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise ZoneFileError(f"{source}: expected a GeoJSON FeatureCollection")
        zone_map = cls()
        for i, feature in enumerate(data.get("features") or []):
            where = f"{source}: feature {i}"
            props = (feature or {}).get("properties") or {}
            geometry = (feature or {}).get("geometry") or {}
            kind = props.get("kind")
            name = str(props.get("name") or f"{kind}-{i}")
            gtype = geometry.get("type")
            coords = geometry.get("coordinates")
            if kind in ("no_entry", "speed_limit"):
                zone_map.zones.append(_parse_zone(where, name, kind, props, gtype, coords))
            elif kind == "one_way":
                zone_map.segments.extend(_parse_one_way(where, name, gtype, coords))
            else:
                raise ZoneFileError(
                    f"{where} ({name}): kind must be no_entry, speed_limit or one_way, not {kind!r}"
                )
        zone_map._build_index()
        return zone_map

    def _build_index(self) -> None:
        zone_index: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, zone in enumerate(self.zones):
            min_lon, min_lat, max_lon, max_lat = zone.bbox
            for cell in _cells_between(min_lat, min_lon, max_lat, max_lon):
                zone_index[cell].append(i)
        segment_index: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, seg in enumerate(self.segments):
            lat0, lat1 = sorted((seg.start[0], seg.end[0]))
            lon0, lon1 = sorted((seg.start[1], seg.end[1]))
            # Pad by one cell so a fix just beside a segment near a cell border still finds it.
            for cell in _cells_between(lat0 - _CELL_DEG, lon0 - _CELL_DEG, lat1 + _CELL_DEG,
                                       lon1 + _CELL_DEG):
                segment_index[cell].append(i)
        self._zone_index = dict(zone_index)
        self._segment_index = dict(segment_index)

    def zones_at(self, lat: float, lon: float) -> list[Zone]:
        candidates = self._zone_index.get(_cell(lat, lon))
        if not candidates:
            return []
        return [self.zones[i] for i in candidates if self.zones[i].contains(lat, lon)]

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
        candidates = self._segment_index.get(_cell(lat, lon))
        if not candidates:
            return None
        best: tuple[OneWaySegment, float] | None = None
        for i in candidates:
            seg = self.segments[i]
            d = point_segment_distance_m(lat, lon, seg.start, seg.end)
            if d <= max_distance_m and (best is None or d < best[1]):
                best = (seg, d)
        return best


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _CELL_DEG), math.floor(lon / _CELL_DEG)


def _cells_between(
    lat0: float, lon0: float, lat1: float, lon1: float
) -> list[tuple[int, int]]:
    a, b = _cell(lat0, lon0), _cell(lat1, lon1)
    return [(i, j) for i in range(a[0], b[0] + 1) for j in range(a[1], b[1] + 1)]


def _ring(where: str, ring: Any) -> tuple[tuple[float, float], ...]:
    try:
        points = tuple((float(p[0]), float(p[1])) for p in ring)
    except (TypeError, ValueError, IndexError) as exc:
        raise ZoneFileError(f"{where}: ring has a position that is not [lon, lat]") from exc
    if len(points) < 4:
        raise ZoneFileError(f"{where}: a polygon ring needs at least 4 positions")
    for lon, lat in points:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ZoneFileError(f"{where}: position [{lon}, {lat}] is out of range")
    return points


def _parse_zone(where: str, name: str, kind: str, props: dict, gtype: Any, coords: Any) -> Zone:
    if gtype == "Polygon":
        polygons_raw = [coords]
    elif gtype == "MultiPolygon":
        polygons_raw = coords
    else:
        raise ZoneFileError(f"{where} ({name}): a {kind} zone must be a Polygon, not {gtype}")
    polygons = tuple(tuple(_ring(where, r) for r in rings) for rings in polygons_raw or [])
    if not polygons:
        raise ZoneFileError(f"{where} ({name}): polygon has no rings")
    limit = props.get("speed_limit_kmh")
    if kind == "speed_limit":
        if not isinstance(limit, int | float) or limit <= 0:
            raise ZoneFileError(f"{where} ({name}): speed_limit zone needs speed_limit_kmh > 0")
        limit = float(limit)
    else:
        limit = None
    lons = [p[0] for rings in polygons for p in rings[0]]
    lats = [p[1] for rings in polygons for p in rings[0]]
    return Zone(name, kind, limit, polygons, (min(lons), min(lats), max(lons), max(lats)))


def _parse_one_way(where: str, name: str, gtype: Any, coords: Any) -> list[OneWaySegment]:
    if gtype == "LineString":
        lines = [coords]
    elif gtype == "MultiLineString":
        lines = coords
    else:
        raise ZoneFileError(f"{where} ({name}): a one_way feature must be a LineString")
    segments = []
    for line in lines or []:
        try:
            points = [(float(p[1]), float(p[0])) for p in line]
        except (TypeError, ValueError, IndexError) as exc:
            raise ZoneFileError(f"{where} ({name}): position is not [lon, lat]") from exc
        if len(points) < 2:
            raise ZoneFileError(f"{where} ({name}): a LineString needs two positions")
        for a, b in itertools.pairwise(points):
            if a != b:
                segments.append(OneWaySegment(name, a, b, bearing_deg(a[0], a[1], b[0], b[1])))
    return segments
