"""A picture of one ride: the track coloured by speed, the alerts marked where they were raised,
the zones and one-way streets around it drawn. Rendered with matplotlib's Agg canvas (a Figure
made directly, never pyplot's global state), so it needs no display."""

import bisect
import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from schemas import GpsPing
from streams.primitives.geo import haversine_m
from streams.primitives.zones import ZoneMap
from streams.review.local_time import local, zone_label
from streams.scoring.safety_score import PENALISED_KINDS

# Around the track the map shows a tenth of its span more, and at least ~100 m: a no-entry zone
# the rider skirted is part of the story (zones on the map are drawn); the rest of the city's
# file is not.
_MARGIN_SHARE = 0.1
_MIN_MARGIN_DEG = 0.001
# The colour scale reaches at least the national e-bike cap (25 km/h) and a bit more, so a ride
# that never sped does not look red.
_MIN_SCALE_KMH = 30.0
_FAST = "RdYlGn_r"
_ZONE_STYLE = {"no_entry": {"facecolor": "tab:red", "alpha": 0.25, "hatch": "//"},
               "speed_limit": {"facecolor": "tab:orange", "alpha": 0.18}}


@dataclass(frozen=True)
class RideMap:
    figure: Figure
    track: LineCollection  # one segment per pair of consecutive fixes
    speeds_kmh: list[float]  # the colour of each segment: the speed at its end
    alert_marks: dict[str, PathCollection]  # alert kind -> its markers
    zones_drawn: list[str]  # names of the zones and one-way streets drawn


def draw_ride(rider_id: str, fixes: list[GpsPing], alerts: list[dict], zones: ZoneMap | None,
              zone: ZoneInfo) -> RideMap:
    """`fixes` in event-time order (at least two); `alerts` as rider-alerts values."""
    if len(fixes) < 2:
        raise ValueError(f"a ride needs at least two fixes, {rider_id} has {len(fixes)}")
    figure = Figure(figsize=(9, 9), dpi=110, layout="constrained")
    ax = figure.add_subplot()
    lons, lats = [f.lon for f in fixes], [f.lat for f in fixes]
    box = _square_box(min(lons), min(lats), max(lons), max(lats))
    drawn = _draw_zones(ax, zones, box) if zones else []

    speeds = speeds_kmh(fixes)[1:]
    track = LineCollection([[(a.lon, a.lat), (b.lon, b.lat)] for a, b in pairwise(fixes)],
                           cmap=_FAST, linewidths=2.5, zorder=3)
    track.set_array(speeds)
    track.set_clim(0, max(_MIN_SCALE_KMH, *speeds))
    ax.add_collection(track)
    figure.colorbar(track, ax=ax, label="speed (km/h)", shrink=0.8)
    ax.plot(lons[0], lats[0], marker="o", color="black", markersize=6, zorder=4,
            linestyle="none", label="start")
    ax.plot(lons[-1], lats[-1], marker="s", color="black", markersize=6, zorder=4,
            linestyle="none", label="end")
    marks = _mark_alerts(ax, fixes, alerts)

    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect(1 / _lon_scale(box))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.ticklabel_format(useOffset=False)
    start, end = local(fixes[0].ts, zone), local(fixes[-1].ts, zone)
    ax.set_title(f"{rider_id}: {start:%Y-%m-%d %H:%M}-{end:%H:%M} "
                 f"({zone_label(zone, fixes[0].ts)}), {len(fixes):,} fixes, "
                 f"{len(alerts)} alerts", fontsize=10)
    # Below the map, where it hides no part of the track.
    figure.legend(loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return RideMap(figure, track, speeds, marks, drawn)


def _lon_scale(box: tuple[float, float, float, float]) -> float:
    """Metres in a degree of longitude over metres in one of latitude, at the box's middle."""
    return math.cos(math.radians((box[1] + box[3]) / 2))


def _square_box(min_lon: float, min_lat: float, max_lon: float,
                max_lat: float) -> tuple[float, float, float, float]:
    """The track's box with a margin, widened to a square on the ground: a ride along one
    street would otherwise be a sliver."""
    margin = max(_MIN_MARGIN_DEG, _MARGIN_SHARE * max(max_lon - min_lon, max_lat - min_lat))
    box = (min_lon - margin, min_lat - margin, max_lon + margin, max_lat + margin)
    scale = _lon_scale(box)
    width, height = (box[2] - box[0]) * scale, box[3] - box[1]  # in degrees of latitude
    side = max(width, height)
    pad_lon, pad_lat = (side - width) / scale / 2, (side - height) / 2
    return box[0] - pad_lon, box[1] - pad_lat, box[2] + pad_lon, box[3] + pad_lat


def save_png(ride: RideMap, path: str | Path) -> None:
    ride.figure.savefig(path, format="png", bbox_inches="tight")


def speeds_kmh(fixes: list[GpsPing]) -> list[float]:
    """Each fix's speed: the device's ground speed when it sent one, else distance over time
    from the fix before (0 for the first, or two fixes at the same time)."""
    speeds = []
    for i, fix in enumerate(fixes):
        if fix.speed_kmh is not None:
            speeds.append(fix.speed_kmh)
        elif i == 0 or fix.ts <= fixes[i - 1].ts:
            speeds.append(0.0)
        else:
            before = fixes[i - 1]
            metres = haversine_m(before.lat, before.lon, fix.lat, fix.lon)
            speeds.append(metres / ((fix.ts - before.ts) / 1000) * 3.6)
    return speeds


def alert_position(fixes: list[GpsPing], alert: dict) -> tuple[float, float]:
    """(lon, lat) of an alert: its evidence's position when it has one, else the rider's fix
    nearest its time (an alert is raised at a fix, so usually that very fix)."""
    evidence = alert.get("evidence") or {}
    if isinstance(evidence.get("lat"), float | int) and isinstance(evidence.get("lon"),
                                                                  float | int):
        return evidence["lon"], evidence["lat"]
    times = [f.ts for f in fixes]
    i = bisect.bisect_left(times, alert["ts"])
    nearest = min((j for j in (i - 1, i) if 0 <= j < len(fixes)),
                  key=lambda j: abs(times[j] - alert["ts"]))
    return fixes[nearest].lon, fixes[nearest].lat


def _mark_alerts(ax, fixes: list[GpsPing], alerts: list[dict]) -> dict[str, PathCollection]:
    by_kind: dict[str, list[tuple[float, float]]] = {}
    for alert in sorted(alerts, key=lambda a: a["ts"]):
        by_kind.setdefault(alert["kind"], []).append(alert_position(fixes, alert))
    marks = {}
    for n, (kind, points) in enumerate(sorted(by_kind.items())):
        penalised = kind in PENALISED_KINDS
        marks[kind] = ax.scatter(
            [p[0] for p in points], [p[1] for p in points], s=110 if penalised else 70,
            marker="X" if penalised else "o", color=f"C{n % 10}", edgecolors="black",
            linewidths=0.8, zorder=5, label=f"{kind} ({len(points)})")
    return marks


def _draw_zones(ax, zones: ZoneMap, box: tuple[float, float, float, float]) -> list[str]:
    drawn = []
    for z in zones.zones:
        if not _overlaps(z.bbox, box):
            continue
        label = z.name if z.speed_limit_kmh is None else f"{z.name} ({z.speed_limit_kmh:g} km/h)"
        for n, rings in enumerate(z.polygons):
            ax.add_patch(Polygon(rings[0], closed=True, edgecolor="black", linewidth=0.8,
                                 zorder=1, label=label if n == 0 else None,
                                 **_ZONE_STYLE[z.kind]))
        drawn.append(z.name)
    for segment in zones.segments:
        (lat1, lon1), (lat2, lon2) = segment.start, segment.end
        seg_box = (min(lon1, lon2), min(lat1, lat2), max(lon1, lon2), max(lat1, lat2))
        if not _overlaps(seg_box, box):
            continue
        ax.annotate("", xy=(lon2, lat2), xytext=(lon1, lat1), zorder=2,
                    arrowprops={"arrowstyle": "-|>", "color": "tab:blue", "linewidth": 1.5})
        if segment.name not in drawn:
            ax.plot([], [], color="tab:blue", label=f"one way: {segment.name}")
            drawn.append(segment.name)
    return drawn


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
