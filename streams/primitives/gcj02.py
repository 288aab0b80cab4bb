"""GCJ-02, the offset frame Chinese map SDKs (Amap, Tencent) return, to and from WGS-84.

The public transform: WGS-84 plus a smooth offset of a few hundred metres on the Krasovsky
ellipsoid, applied inside mainland China only. It has no closed inverse; a few fixed-point
steps bring GCJ-02 back to WGS-84 within a millimetre, far below any fix's noise."""

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis, m
_EE = 0.00669342162296594323  # its first eccentricity squared
_INVERSE_STEPS = 6


def in_mainland_china(lat: float, lon: float) -> bool:
    # The transform's customary bounding box: outside it the frames coincide.
    return 0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if not in_mainland_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _offset_deg(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    if not in_mainland_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(_INVERSE_STEPS):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        w_lat, w_lon = w_lat + lat - g_lat, w_lon + lon - g_lon
    return w_lat, w_lon


def _offset_deg(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = _lat_term(x, y)
    d_lon = _lon_term(x, y)
    rad = math.radians(lat)
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon


def _lat_term(x: float, y: float) -> float:
    out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    out += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    out += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return out


def _lon_term(x: float, y: float) -> float:
    out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    out += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    out += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    out += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return out
