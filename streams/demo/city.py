"""A deterministic simulated city: riders on a street grid in central Shanghai, their orders, a
rainstorm warning, a traffic jam and the zones file, as replay records in arrival order.

Riders are simulated physically rather than by writing alerts into the data: each ride follows a
path of straight streets joined by rounded corners, its speed is integrated at 1 s sub-steps
under acceleration limits, and pings sample that motion with correlated GPS noise. A bad
rider's manoeuvre therefore looks to the core exactly as it would from a phone: device speed and
heading agree with how the positions move, which the detectors check.

Everything comes from `random.Random` seeded per rider and a fixed base time, so one seed always
gives the same records, and rider-0001's day does not change with the number of riders.
"""

import bisect
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from streams.primitives.geo import offset

CITY = "shanghai"
# 2026-07-15T10:00:00+08:00: a weekday late morning, the lunch rush building.
BASE_TS_MS = 1_784_080_800_000
# South-west corner of the simulated grid; the grid's centre is near People's Square.
ORIGIN = (31.2165, 121.4545)
BLOCK_M = 250.0
GRID_BLOCKS = 12  # 3 km x 3 km

GPS_TOPIC = "rider-gps"
ORDER_TOPIC = "order-events"
WEATHER_TOPIC = "weather-events"
REDEMPTION_TOPIC = "rider-point-redemptions"
# Riders who spend safety points near the end of the hour: a small reward most can afford after
# a few safe deliveries, and one no rider earns in an hour (refused, with its reason).
REDEEMERS = {index: (20, "helmet light") if index % 2 else (5_000, "new e-bike battery")
             for index in range(20, 30)}

CLEAN = "clean"
# The first riders misbehave, whatever the number of riders, so a small city still shows every
# detection. gps_jump and offline riders ride cleanly: their phones are what misbehaves.
BAD_BEHAVIOURS = (
    "speeding", "harsh_braking", "harsh_acceleration", "harsh_cornering", "wrong_way",
    "no_entry", "school_zone_speeding", "phone_use", "gps_jump", "offline",
    "speeding", "harsh_braking", "harsh_acceleration", "harsh_cornering", "wrong_way",
    "no_entry", "phone_use", "gps_jump", "offline",
)
HARMLESS_BEHAVIOURS = frozenset({CLEAN, "gps_jump", "offline"})
# The clean riders right after the bad ones work a food court by the jam, so a small city still
# shows congestion: enough riders to judge the street's cells while it is jammed and after.
FOOD_COURT_RIDERS = 8

Point = tuple[float, float]  # metres east, north of ORIGIN


@dataclass(frozen=True)
class Jam:
    """The traffic jam simulated (ground truth)."""

    street: tuple[tuple[float, float], ...]  # (lat, lon) of the jammed block's ends
    start_ts: int
    end_ts: int
    riders: tuple[str, ...]  # riders held up in it, whatever their behaviour


@dataclass
class City:
    records: list[dict]  # replay envelopes in arrival order
    zones: dict  # GeoJSON FeatureCollection
    behaviours: dict[str, str]  # rider_id -> CLEAN or the behaviour simulated (ground truth)
    start_ts: int = BASE_TS_MS
    end_ts: int = BASE_TS_MS
    name: str = CITY
    jam: Jam | None = None  # None when the simulated time ends before the jam
    # Ground truth of each injected episode, in simulated time order (see streams.simulate).
    labels: list[dict] = field(default_factory=list)


# -- the map ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    def grown(self, m: float) -> "_Rect":
        return _Rect(self.x0 - m, self.y0 - m, self.x1 + m, self.y1 + m)

    def holds(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def distance(self, x: float, y: float) -> float:
        """Metres from the rectangle (0 inside it)."""
        return math.hypot(max(self.x0 - x, 0.0, x - self.x1), max(self.y0 - y, 0.0, y - self.y1))


# Mid-block lanes off the street grid, so only riders sent there use them.
PEDESTRIAN_STREET = _Rect(1030, 1605, 1220, 1645)  # around the lane y=1625, x 1000..1250
PEDESTRIAN_LANE = ((1000.0, 1625.0), (1250.0, 1625.0))
SCHOOL_ZONE = _Rect(1715, 480, 1785, 920)  # on the avenue x=1750, across the street y=750
SCHOOL_LIMIT_KMH = 15.0
NATIONAL_CAP_KMH = 25.0  # GB 17761-2018, the e-bike cap the core enforces
# Road works close a lane of one block of a north-south street for 13 minutes of the lunch rush:
# everyone riding along the block crawls, in either direction, then it flows again. The block
# lies inside one H3 cell of the congestion map; the food court is just south of it.
JAM_BLOCK = ((2500.0, 1000.0), (2500.0, 1250.0))
# Towers around People's Square: signals bounce between them, so fixes wander further there.
URBAN_CANYON = _Rect(1000, 1500, 2000, 2500)
_CANYON_FADE_M = 250.0
JAM_FROM_S, JAM_UNTIL_S = 17 * 60.0, 30 * 60.0
JAM_CRAWL_KMH = (3.0, 6.0)
FOOD_COURT = (2500.0, 875.0)
# (name, allowed direction start -> end)
ONE_WAYS = (
    ("Yunnan Road (one-way southbound)", ((2125.0, 1250.0), (2125.0, 1000.0))),
    ("Huanghe Road (one-way eastbound)", ((500.0, 2375.0), (750.0, 2375.0))),
)


def _latlon(p: Point) -> tuple[float, float]:
    return offset(ORIGIN[0], ORIGIN[1], p[1], p[0])


def _ring(rect: _Rect) -> list[list[float]]:
    corners = [(rect.x0, rect.y0), (rect.x1, rect.y0), (rect.x1, rect.y1), (rect.x0, rect.y1),
               (rect.x0, rect.y0)]
    return [[round(lon, 7), round(lat, 7)] for lat, lon in map(_latlon, corners)]


def build_zones() -> dict:
    features = [
        {"type": "Feature",
         "properties": {"kind": "no_entry", "name": "Nanjing Road pedestrian street"},
         "geometry": {"type": "Polygon", "coordinates": [_ring(PEDESTRIAN_STREET)]}},
        {"type": "Feature",
         "properties": {"kind": "speed_limit", "name": "school zone",
                        "speed_limit_kmh": SCHOOL_LIMIT_KMH},
         "geometry": {"type": "Polygon", "coordinates": [_ring(SCHOOL_ZONE)]}},
    ]
    for name, (a, b) in ONE_WAYS:
        coords = [[round(lon, 7), round(lat, 7)] for lat, lon in (_latlon(a), _latlon(b))]
        features.append({"type": "Feature", "properties": {"kind": "one_way", "name": name},
                         "geometry": {"type": "LineString", "coordinates": coords}})
    return {"type": "FeatureCollection", "features": features}


def _random_spot(rng: random.Random, near: Point | None = None, lo: float = 0.0,
                 hi: float = 1e9) -> Point:
    """A mid-block point on a street (where shops and doors are), lo..hi metres (Manhattan)
    from `near`."""
    for _ in range(200):
        street = rng.randint(0, GRID_BLOCKS) * BLOCK_M
        along = rng.randint(0, GRID_BLOCKS - 1) * BLOCK_M + BLOCK_M / 2
        p = (street, along) if rng.random() < 0.5 else (along, street)
        if near is None or lo <= abs(p[0] - near[0]) + abs(p[1] - near[1]) <= hi:
            return p
    return p


# -- routes ----------------------------------------------------------------------------------


def _on_grid(v: float) -> bool:
    return abs(v / BLOCK_M - round(v / BLOCK_M)) < 1e-9


def _node_towards(p: Point, target: Point) -> Point:
    """The street corner at the end of p's block that lies towards `target`."""
    x, y = p
    if _on_grid(x) and _on_grid(y):
        return p
    if _on_grid(x):  # on a north-south street
        n = math.floor(y / BLOCK_M) * BLOCK_M
        return (x, n + BLOCK_M if target[1] > y else n)
    n = math.floor(x / BLOCK_M) * BLOCK_M
    return (n + BLOCK_M if target[0] > x else n, y)


def grid_route(a: Point, b: Point, rng: random.Random) -> list[Point]:
    if a == b:
        return [a]
    if (a[0] == b[0] and _on_grid(a[0])) or (a[1] == b[1] and _on_grid(a[1])):
        return [a, b]
    n1, n2 = _node_towards(a, b), _node_towards(b, a)
    corner = (n2[0], n1[1]) if rng.random() < 0.5 else (n1[0], n2[1])
    return [a, n1, corner, n2, b]


def _unit(a: Point, b: Point) -> tuple[float, float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    return dx / length, dy / length, length


def tidy(points: list[Point]) -> list[Point]:
    """Drop repeated points, straight-through points and back-tracking: a rider never makes a
    U-turn in the middle of a ride."""
    pts = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    changed = True
    while changed and len(pts) > 2:
        changed = False
        for i in range(1, len(pts) - 1):
            ux, uy, _ = _unit(pts[i - 1], pts[i])
            vx, vy, _ = _unit(pts[i], pts[i + 1])
            if abs(ux * vy - uy * vx) < 1e-9:  # straight on or reversing
                del pts[i]
                pts = [p for j, p in enumerate(pts) if j == 0 or p != pts[j - 1]]
                changed = True
                break
    return pts


# -- paths: straight pieces and corner arcs ----------------------------------------------------


@dataclass(slots=True)
class _Piece:
    start_s: float
    length: float
    cap: float  # speed cap, m/s (inf: none)
    x0: float = 0.0
    y0: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    cx: float = 0.0
    cy: float = 0.0
    radius: float = 0.0
    a0: float = 0.0
    sign: float = 0.0  # +1 left turn, -1 right turn, 0 a straight piece
    sharp: bool = False

    @property
    def end_s(self) -> float:
        return self.start_s + self.length

    def at(self, u: float) -> tuple[float, float, float]:
        """Position and compass heading `u` metres into the piece."""
        if self.sign == 0.0:
            return (self.x0 + self.dx * u, self.y0 + self.dy * u,
                    math.degrees(math.atan2(self.dx, self.dy)) % 360.0)
        a = self.a0 + self.sign * u / self.radius
        tx, ty = -self.sign * math.sin(a), self.sign * math.cos(a)
        return (self.cx + self.radius * math.cos(a), self.cy + self.radius * math.sin(a),
                math.degrees(math.atan2(tx, ty)) % 360.0)


class Path:
    def __init__(self, pieces: list[_Piece]) -> None:
        self.pieces = pieces
        self.starts = [p.start_s for p in pieces]
        self.length = pieces[-1].end_s if pieces else 0.0

    def index_at(self, s: float) -> int:
        return max(0, bisect.bisect_right(self.starts, s) - 1)

    def at(self, s: float) -> tuple[float, float, float]:
        piece = self.pieces[self.index_at(s)]
        return piece.at(min(max(s - piece.start_s, 0.0), piece.length))


def build_path(points: list[Point], corner: Callable[[int], tuple[float, float, bool]],
               zone_caps: list[tuple[_Rect, float]]) -> Path:
    """Straight pieces joined by arcs; `corner(i)` gives the radius, the speed cap and whether
    the corner at interior point i is taken sharp. Straight pieces inside a capped rectangle
    get its cap."""
    pieces: list[_Piece] = []
    s = 0.0
    cursor = points[0]

    def line(a: Point, b: Point) -> None:
        nonlocal s
        if a == b:
            return
        ux, uy, length = _unit(a, b)
        for u0, u1, cap in _split_by_caps(a, ux, uy, length, zone_caps):
            pieces.append(_Piece(s, u1 - u0, cap, a[0] + ux * u0, a[1] + uy * u0, ux, uy))
            s += u1 - u0

    for i in range(1, len(points) - 1):
        p = points[i]
        ux, uy, len_in = _unit(points[i - 1], p)
        vx, vy, len_out = _unit(p, points[i + 1])
        turn = math.acos(max(-1.0, min(1.0, ux * vx + uy * vy)))
        radius, cap, sharp = corner(i)
        tangent = min(radius * math.tan(turn / 2), 0.45 * len_in, 0.45 * len_out)
        radius = tangent / math.tan(turn / 2)
        t1 = (p[0] - ux * tangent, p[1] - uy * tangent)
        t2 = (p[0] + vx * tangent, p[1] + vy * tangent)
        line(cursor, t1)
        sign = 1.0 if ux * vy - uy * vx > 0 else -1.0
        cx, cy = t1[0] - sign * radius * uy, t1[1] + sign * radius * ux
        a0 = math.atan2(t1[1] - cy, t1[0] - cx)
        pieces.append(_Piece(s, radius * turn, cap, cx=cx, cy=cy, radius=radius, a0=a0,
                             sign=sign, sharp=sharp))
        s += radius * turn
        cursor = t2
    line(cursor, points[-1])
    return Path(pieces)


def _split_by_caps(a: Point, ux: float, uy: float, length: float,
                   zone_caps: list[tuple[_Rect, float]]) -> list[tuple[float, float, float]]:
    cuts = {0.0, length}
    spans: list[tuple[float, float, float]] = []
    for rect, cap in zone_caps:
        lo, hi = _clip(a, ux, uy, length, rect)
        if hi > lo:
            cuts.update((lo, hi))
            spans.append((lo, hi, cap))
    edges = sorted(cuts)
    out = []
    for u0, u1 in itertools.pairwise(edges):
        if u1 - u0 < 1e-6:
            continue
        mid = (u0 + u1) / 2
        cap = min((c for lo, hi, c in spans if lo <= mid <= hi), default=math.inf)
        out.append((u0, u1, cap))
    return out


def _clip(a: Point, ux: float, uy: float, length: float, r: _Rect) -> tuple[float, float]:
    """The part [lo, hi] of the segment inside the rectangle (Liang-Barsky)."""
    lo, hi = 0.0, length
    for d, p0, r0, r1 in ((ux, a[0], r.x0, r.x1), (uy, a[1], r.y0, r.y1)):
        if abs(d) < 1e-12:
            if not r0 <= p0 <= r1:
                return 0.0, 0.0
            continue
        t0, t1 = (r0 - p0) / d, (r1 - p0) / d
        lo, hi = max(lo, min(t0, t1)), min(hi, max(t0, t1))
    return lo, hi


# -- riders ----------------------------------------------------------------------------------


@dataclass
class _Style:
    cruise: float  # m/s
    accel: float
    decel: float  # planned braking, m/s²
    turn: float  # corner speed, m/s
    wobble_period: float
    wobble_phase: float
    fast: float = 0.0  # speeders: speed on the long straight of their special trip, m/s
    obeys_zones: bool = True


@dataclass
class _Ride:
    t0: float
    path: Path
    s: list[float]
    v: list[float]

    @property
    def t1(self) -> float:
        return self.t0 + len(self.s) - 1


@dataclass
class _Dwell:
    t0: float
    t1: float
    pos: Point
    heading: float


@dataclass
class _Plan:
    """What a bad rider will do next and when; each trigger is used once."""

    brake_at: list[float] = field(default_factory=list)
    launch_at: list[float] = field(default_factory=list)
    corner_at: list[float] = field(default_factory=list)
    special_at: float | None = None
    phone_at: float | None = None
    phone_left: int = 0


_HARD_BRAKE = 6.0  # m/s²: an emergency stop
_HARD_LAUNCH = 4.5  # m/s²: beyond any legal pedelec
_MAX_COMFORT_DECEL = 2.5  # a clean rider never brakes harder than this
_LOOKAHEAD_M = 90.0
# Pings one second apart around a manoeuvre (offsets from its start, s): phones on these
# riders log at 1 Hz, and the core needs fixes >= 2 s before and after to confirm the change.
_SPEED_CHANGE_PATTERN = (-3.0, 0.0, 1.0, 2.0, 5.0)
_CORNER_PATTERN = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0)
_PING_OFFSET = 0.05
# Late deliveries by cause and the exemption each should (None: should not) earn.
_LATE_CAUSES = {"merchant_delay": "merchant_delay", "unreachable": "customer_unreachable",
                "late": None}


class _RiderSim:
    def __init__(self, index: int, behaviour: str, seed: int, end_s: float,
                 next_order: Callable[[], str], noise_m: float = 3.5,
                 canyon_factor: float = 1.0) -> None:
        self.noise_m = noise_m
        self.canyon_factor = canyon_factor
        self.rng = rng = random.Random(seed * 1_000_003 + index)
        self.index = index
        self.rider_id = rider_id(index)
        self.behaviour = behaviour
        self.end_s = end_s
        self.next_order = next_order
        bad = behaviour not in HARMLESS_BEHAVIOURS
        n_bad = len(BAD_BEHAVIOURS)
        self.food_court = behaviour == CLEAN and n_bad <= index < n_bad + FOOD_COURT_RIDERS
        self.jammed = False
        if behaviour in ("harsh_braking", "harsh_acceleration", "harsh_cornering"):
            cruise_kmh = rng.uniform(22.5, 24.0)  # fast enough for the manoeuvre to count
        elif behaviour == "school_zone_speeding":
            cruise_kmh = 22.0
        elif behaviour == "phone_use":
            cruise_kmh = rng.uniform(18.0, 20.5)  # the tap must fall while clearly riding
        else:
            cruise_kmh = rng.uniform(13.5, 20.5)
        self.style = _Style(
            cruise=cruise_kmh / 3.6, accel=rng.uniform(0.6, 1.0), decel=rng.uniform(1.0, 1.4),
            turn=rng.uniform(9.0, 11.0) / 3.6, wobble_period=rng.uniform(40, 90),
            wobble_phase=rng.uniform(0, 2 * math.pi),
            fast=rng.uniform(37.0, 40.0) / 3.6 if behaviour == "speeding" else 0.0,
            obeys_zones=behaviour != "school_zone_speeding")
        # About one phone in ten reports neither speed nor heading; the core derives them.
        self.reports_motion = behaviour != CLEAN or rng.random() >= 0.1
        self.has_orders = behaviour != "offline" and (bad or self.food_court or rng.random() < 0.8)
        self.plan = _Plan()
        first = rng.uniform(4, 18) * 60
        if behaviour == "harsh_braking":
            self.plan.brake_at = [first, first + rng.uniform(15, 25) * 60]
        elif behaviour == "harsh_acceleration":
            self.plan.launch_at = [first, first + rng.uniform(15, 25) * 60]
        elif behaviour == "harsh_cornering":
            self.plan.corner_at = [first, first + rng.uniform(15, 25) * 60]
        elif behaviour in ("speeding", "wrong_way", "no_entry", "school_zone_speeding"):
            self.plan.special_at = rng.uniform(3, 20) * 60
        elif behaviour == "phone_use":
            self.plan.phone_at, self.plan.phone_left = first, 2
        self.phases: list[_Ride | _Dwell] = []
        self.labels: list[dict] = []
        self.dense: list[list[float]] = []
        self.orders: list[dict] = []
        self.t = 0.0
        self.pos = (_random_spot(rng, FOOD_COURT, 250, 1000) if self.food_court
                    else _random_spot(rng))
        self.heading = rng.choice((0.0, 180.0)) if _on_grid(self.pos[0]) else rng.choice(
            (90.0, 270.0))
        self.stopped_since = 0.0

    # -- the day ---------------------------------------------------------------------------

    def run(self) -> None:
        rng = self.rng
        self.dwell_until(rng.uniform(10, 120))
        while self.t < self.end_s:
            special = self._special_route()
            if self.has_orders:
                self._order(special)
            else:
                if special is not None:
                    staging, via, dest = special
                    self.ride_to(staging)
                    self.dwell_until(self.t + rng.uniform(20, 60))
                    self.ride_to(dest, via=via, special=True)
                else:
                    self.ride_to(_random_spot(rng, self.pos, 500, 2000))
                self.dwell_until(self.t + rng.uniform(30, 180))

    def _special_route(self) -> tuple[Point, list[Point], Point] | None:
        """(staging point, via points, destination) of the trip that shows the behaviour."""
        plan = self.plan
        if plan.special_at is None or self.t < plan.special_at:
            return None
        plan.special_at = None
        rng = self.rng
        if self.behaviour == "speeding":
            y = rng.randint(6, 11) * BLOCK_M  # streets north of the school zone
            x0 = rng.choice((0, 1)) * BLOCK_M + BLOCK_M / 2
            x1 = x0 + rng.randint(4, 5) * BLOCK_M
            return (x0, y), [(x1, y)], (x1 + BLOCK_M / 2, y + BLOCK_M / 2)
        if self.behaviour == "school_zone_speeding":
            return (1750.0, 125.0), [(1750.0, 1125.0)], (1750.0, 1625.0)
        if self.behaviour == "no_entry":
            a, b = PEDESTRIAN_LANE
            return (a[0], a[1] - BLOCK_M), [a, b], (b[0], b[1] + BLOCK_M)
        # wrong way: the first such rider against one one-way street, the second the other
        name_index = 0 if self.index < len(BAD_BEHAVIOURS) // 2 else 1
        allowed_from, allowed_to = ONE_WAYS[name_index][1]
        if name_index == 0:
            return (2375.0, 1000.0), [allowed_to, allowed_from], (1875.0, 1500.0)
        return (750.0, 2125.0), [allowed_to, allowed_from], (375.0, 2750.0)

    def _order(self, special: tuple[Point, list[Point], Point] | None) -> None:
        rng, plan = self.rng, self.plan
        order_id = self.next_order()
        accept = max(self.t + rng.uniform(20, 90), self.stopped_since + 20)
        # Late scenarios only where the order can be delivered (and decided) within the hour.
        kind = "normal"
        if self.behaviour == CLEAN and accept < self.end_s - 40 * 60:
            kind = rng.choices(("normal", "merchant_delay", "late", "unreachable", "cancelled"),
                               (80, 6, 5, 4, 5))[0]
        elif self.behaviour == CLEAN and rng.random() < 0.05:
            kind = "cancelled"
        if special is not None:
            merchant, via, customer = special
        elif self.food_court:
            merchant, via, customer = FOOD_COURT, list(JAM_BLOCK), self._food_court_customer()
        else:
            merchant = _random_spot(rng, self.pos, 300, 1200)
            customer = _random_spot(rng, merchant, 500, 2000)
            via = []
            if self.behaviour == CLEAN and rng.random() < 0.12:
                via = self._compliant_via(rng)
        late = kind in ("merchant_delay", "late", "unreachable")
        # Late scenarios get the tightest usual promise, so the delay they add makes them late.
        promise_s = rng.uniform(25, 28 if late else 35) * 60
        must_deliver_after = accept + promise_s + rng.uniform(120, 360)
        self.event(order_id, "created", max(0.0, accept - rng.uniform(15, 60)), merchant)
        self.event(order_id, "accepted", accept, self.pos, promised=accept + promise_s)
        self.dwell_until(accept + rng.uniform(10, 25))
        north_of_jam = self.pos[1] >= JAM_BLOCK[1][1]
        # The jammed street is the way back to the food court from its customers, too.
        self.ride_to(merchant, via=list(JAM_BLOCK[::-1]) if self.food_court and north_of_jam
                     else None)
        arrived = self.t + rng.uniform(15, 30)
        self.event(order_id, "arrived_at_merchant", arrived, merchant)
        if kind == "cancelled":
            cancel = arrived + rng.uniform(60, 180)
            self.event(order_id, "cancelled", cancel, merchant)
            self.dwell_until(cancel + rng.uniform(20, 40))
            return
        ready = arrived + rng.uniform(-120, 240)
        pickup_delay = rng.uniform(20, 60)
        route_len = sum(abs(a - b) for a, b in zip(merchant, customer, strict=False)) + 250
        # Estimated time from food ready to delivery: pick-up, ride, arrival tap, handover.
        rest_s = pickup_delay + 20 + route_len / self.style.cruise + 45 + 60
        if kind == "merchant_delay":
            ready = max(arrived + rng.uniform(10, 15) * 60, must_deliver_after - rest_s)
        self.event(order_id, "food_ready", ready, merchant)
        picked = max(ready, arrived) + pickup_delay
        depart = picked + rng.uniform(10, 25)
        if kind == "late":
            # The rider lingers at the merchant after pick-up: late, and no one else's fault.
            depart = max(depart, must_deliver_after - (rest_s - pickup_delay))
        tapped_riding = (plan.phone_at is not None and self.t >= plan.phone_at
                         and plan.phone_left > 0)
        if not tapped_riding:
            self.event(order_id, "picked_up", picked, merchant)
        self.dwell_until(depart)
        ride = self.ride_to(customer, via=via, special=special is not None)
        if tapped_riding:
            plan.phone_left -= 1
            tap = self._riding_moment(ride)
            x, y, _ = ride.path.at(_interp(ride.s, tap - ride.t0))
            self.event(order_id, "picked_up", tap, (x, y))
            self.label("phone_use", tap, tap, "phone_use", order_id=order_id)
        at_door = self.t + rng.uniform(15, 30)
        self.event(order_id, "arrived_at_customer", at_door, customer)
        delivered = at_door + rng.uniform(30, 90)
        if kind == "unreachable":
            unreachable = at_door + rng.uniform(60, 150)
            self.event(order_id, "customer_unreachable", unreachable, customer)
            # The rider waits at the door until the customer answers.
            delivered = max(unreachable + rng.uniform(90, 240), must_deliver_after)
        self.event(order_id, "delivered", delivered, customer)
        if kind in _LATE_CAUSES and delivered > accept + promise_s:
            self.label(f"late_{kind}", accept + promise_s, delivered, _LATE_CAUSES[kind],
                       order_id=order_id, late_by_s=delivered - accept - promise_s)
        self.dwell_until(delivered + rng.uniform(5, 30))

    def _food_court_customer(self) -> Point:
        """A customer north of the jammed block, so the delivery rides along it."""
        rng = self.rng
        if rng.random() < 0.5:
            return rng.choice((2250.0, 2500.0, 2750.0)), rng.choice((1375.0, 1625.0, 1875.0))
        return rng.choice((2375.0, 2625.0, 2875.0)), rng.choice((1500.0, 1750.0))

    @staticmethod
    def _compliant_via(rng: random.Random) -> list[Point]:
        """Some clean riders take the one-way streets the right way or cross the school zone
        (slowly): the places where the bad riders are caught, ridden correctly."""
        choice = rng.randrange(3)
        if choice < 2:
            a, b = ONE_WAYS[choice][1]
            return [a, b]
        return [(1750.0, 250.0), (1750.0, 1000.0)] if rng.random() < 0.5 else [
            (1750.0, 1000.0), (1750.0, 250.0)]

    def _riding_moment(self, ride: _Ride) -> float:
        """A time in the ride with the rider at speed for several seconds either side."""
        fast = 15 / 3.6
        v = ride.v
        for k in range(15, len(v) - 8):
            if all(x >= fast for x in v[k - 8:k + 9]):
                return ride.t0 + k + 0.5
        return ride.t0 + len(v) / 2

    # -- phases ----------------------------------------------------------------------------

    def event(self, order_id: str, type_: str, t: float, where: Point,
              promised: float | None = None) -> None:
        lat, lon = _latlon(where)
        value = {"order_id": order_id, "rider_id": self.rider_id, "ts": _ms(t), "type": type_,
                 "city": CITY, "lat": round(lat, 6), "lon": round(lon, 6)}
        if promised is not None:
            value["promised_ts"] = _ms(promised)
        self.orders.append(value)

    def label(self, kind: str, t0: float, t1: float, expected: str | None,
              **params: float | str | None) -> None:
        """Ground truth: `expected` is the alert kind or exemption reason the episode should
        raise (None: nothing penalised should)."""
        entry = {"kind": kind, "rider_id": self.rider_id, "start_ts": _ms(t0),
                 "end_ts": _ms(t1), "expected": expected}
        if params:
            entry["params"] = {k: round(v, 2) if isinstance(v, float) else v
                               for k, v in params.items()}
        self.labels.append(entry)

    def dwell_until(self, t: float) -> None:
        if t > self.t:
            self.phases.append(_Dwell(self.t, t, self.pos, self.heading))
            self.t = t

    def ride_to(self, dest: Point, via: list[Point] | None = None, special: bool = False
                ) -> _Ride:
        rng = self.rng
        points = [self.pos]
        if via:
            # Via points are a lane off the grid: ridden straight from one to the next.
            points.extend(grid_route(self.pos, via[0], rng)[1:])
            points.extend(via[1:])
        points.extend(grid_route(points[-1], dest, rng)[1:])
        points = tidy(points)
        if len(points) < 2:
            points = [self.pos, _random_spot(rng, self.pos, 250, 600)]
            points = tidy(grid_route(points[0], points[1], rng))
        sharp_at = self._sharp_corner(points)
        style = self.style

        def corner(i: int) -> tuple[float, float, bool]:
            if i == sharp_at:
                return 5.0, math.inf, True
            return 8.0, style.turn, False

        caps = [(SCHOOL_ZONE.grown(25), 13.0 / 3.6)] if style.obeys_zones else []
        path = build_path(points, corner, caps)
        stops = [] if special else self._red_lights(path)
        ride = self._drive(path, stops, fast=special and style.fast > 0)
        if special:
            self._label_special(ride)
        self.phases.append(ride)
        self.t = ride.t1
        self.pos = points[-1]
        self.heading = path.at(path.length)[2]
        self.stopped_since = self.t
        return ride

    def _label_special(self, ride: _Ride) -> None:
        """Label the stretches of a special trip that break a rule, from the simulated motion
        itself (second by second), so a label says what the rider really did."""
        b = self.behaviour
        if b == "speeding":
            self._label_spans(ride, "speeding", "speeding",
                              lambda x, y, v, h: v * 3.6 > NATIONAL_CAP_KMH)
        elif b == "school_zone_speeding":
            self._label_spans(ride, "school_zone_speeding", "speeding",
                              lambda x, y, v, h: SCHOOL_ZONE.holds(x, y)
                              and v * 3.6 > SCHOOL_LIMIT_KMH, limit_kmh=SCHOOL_LIMIT_KMH)
        elif b == "no_entry":
            self._label_spans(ride, "zone_entry", "restricted_zone",
                              lambda x, y, v, h: PEDESTRIAN_STREET.holds(x, y),
                              zone="Nanjing Road pedestrian street")
        elif b == "wrong_way":
            for name, (a, z) in ONE_WAYS:
                lane = _Rect(min(a[0], z[0]), min(a[1], z[1]), max(a[0], z[0]),
                             max(a[1], z[1])).grown(3.0)
                allowed = math.degrees(math.atan2(z[0] - a[0], z[1] - a[1])) % 360.0
                self._label_spans(
                    ride, "wrong_way", "wrong_way",
                    lambda x, y, v, h, lane=lane, allowed=allowed: v > 1.0 and lane.holds(x, y)
                    and abs((h - allowed + 180.0) % 360.0 - 180.0) > 150.0, street=name)

    def _label_spans(self, ride: _Ride, kind: str, expected: str,
                     breaks: Callable[[float, float, float, float], bool],
                     **params: float | str) -> None:
        start = None
        peak = 0.0
        for k, (s_k, v_k) in enumerate(zip(ride.s, ride.v, strict=True)):
            if breaks(*ride.path.at(s_k)[:2], v_k, ride.path.at(s_k)[2]):
                if start is None:
                    start, peak = k, 0.0
                peak = max(peak, v_k * 3.6)
            elif start is not None:
                self.label(kind, ride.t0 + start, ride.t0 + k - 1, expected, peak_kmh=peak,
                           **params)
                start = None
        if start is not None:
            self.label(kind, ride.t0 + start, ride.t1, expected, peak_kmh=peak, **params)

    def _sharp_corner(self, points: list[Point]) -> int | None:
        plan = self.plan
        if not plan.corner_at or self.t < plan.corner_at[0]:
            return None
        for i in range(1, len(points) - 1):
            if (_unit(points[i - 1], points[i])[2] >= 100
                    and _unit(points[i], points[i + 1])[2] >= 60):
                plan.corner_at.pop(0)
                return i
        return None

    def _red_lights(self, path: Path) -> list[tuple[float, float]]:
        """(position, wait) of the red lights this ride meets at street crossings."""
        rng = self.rng
        stops = []
        for i, piece in enumerate(path.pieces):
            if piece.sign != 0.0:
                continue
            crossings = []
            if abs(piece.dx) > 0.5 and _on_grid(piece.y0):
                x_end = piece.x0 + piece.dx * piece.length
                lo, hi = sorted((piece.x0, x_end))
                crossings = [(k * BLOCK_M - piece.x0) / piece.dx
                             for k in range(math.ceil(lo / BLOCK_M), math.floor(hi / BLOCK_M) + 1)]
            elif abs(piece.dy) > 0.5 and _on_grid(piece.x0):
                y_end = piece.y0 + piece.dy * piece.length
                lo, hi = sorted((piece.y0, y_end))
                crossings = [(k * BLOCK_M - piece.y0) / piece.dy
                             for k in range(math.ceil(lo / BLOCK_M), math.floor(hi / BLOCK_M) + 1)]
            nxt = path.pieces[i + 1] if i + 1 < len(path.pieces) else None
            if nxt is not None and nxt.sign != 0.0 and not nxt.sharp:
                crossings.append(piece.length + 4.0)  # the light before a turn
            for u in crossings:
                at = piece.start_s + u - 6.0
                if 20.0 < at < path.length - 20.0 and rng.random() < 0.3:
                    stops.append((at, rng.uniform(8, 40)))
        stops.sort()
        return stops

    def _drive(self, path: Path, stops: list[tuple[float, float]], fast: bool) -> _Ride:
        """Integrate speed at 1 s sub-steps: accelerate to the wanted speed, brake in time for
        corners, zone caps, red lights and the destination, and act out planned manoeuvres."""
        style, plan = self.style, self.plan
        t0 = self.t
        pieces = path.pieces
        capped = [(p.start_s, p.end_s, p.cap) for p in pieces if p.cap < math.inf]
        jam = _jam_spans(path) if t0 < JAM_UNTIL_S else []
        length = path.length
        s, v = 0.0, 0.0
        ss, vs = [0.0], [0.0]
        launch = bool(plan.launch_at) and t0 >= plan.launch_at[0]
        if launch:
            plan.launch_at.pop(0)
            self._dense(t0, _SPEED_CHANGE_PATTERN)
        hold_until = -1.0
        braking = False
        brake_from = (t0, 0.0)
        stop_i = 0
        pi = 0
        ci = 0
        k = 0
        while s < length - 0.05 and k < 7200:
            t = t0 + k
            while pi + 1 < len(pieces) and pieces[pi + 1].start_s <= s:
                pi += 1
            piece = pieces[pi]
            while ci < len(capped) and capped[ci][1] <= s:
                ci += 1
            if fast and piece.sign == 0.0 and piece.length >= 600:
                want = style.fast
            else:
                wobble = 1.2 / 3.6 * math.sin(2 * math.pi * t / style.wobble_period
                                              + style.wobble_phase)
                want = style.cruise + wobble
            allowed = math.sqrt(2 * style.decel * max(length - s, 0.0))
            j = ci
            while j < len(capped) and capped[j][0] < s + _LOOKAHEAD_M:
                start, _, cap = capped[j]
                allowed = min(allowed, cap if start <= s else math.sqrt(
                    cap * cap + 2 * style.decel * (start - s)))
                j += 1
            if jam and JAM_FROM_S <= t < JAM_UNTIL_S:
                crawl = self._crawl(t)
                for lo, hi in jam:
                    if hi > s and lo < s + _LOOKAHEAD_M:
                        allowed = min(allowed, crawl if lo <= s else math.sqrt(
                            crawl * crawl + 2 * style.decel * (lo - s)))
                        self.jammed = self.jammed or lo <= s
            stop_at = stops[stop_i][0] if stop_i < len(stops) else math.inf
            allowed = min(allowed, math.sqrt(2 * style.decel * max(stop_at - s, 0.0)))
            if braking:
                v_new = max(0.0, v - _HARD_BRAKE)
                if v_new == 0.0:
                    braking = False
                    hold_until = t + 1 + self.rng.uniform(3, 5)
                    self.label("harsh_braking", brake_from[0], t + 1, "harsh_braking",
                               from_kmh=brake_from[1] * 3.6, to_kmh=0.0,
                               decel_mps2=_HARD_BRAKE)
            elif t < hold_until:
                v_new = 0.0
            elif (plan.brake_at and t >= plan.brake_at[0] and v >= 21.5 / 3.6
                  and piece.sign == 0.0 and piece.end_s - s > 40 and stop_at - s > 40
                  and length - s > 60):
                plan.brake_at.pop(0)
                braking = True
                brake_from = (t, v)
                self._dense(t, _SPEED_CHANGE_PATTERN)
                v_new = max(0.0, v - _HARD_BRAKE)
            else:
                gain = _HARD_LAUNCH if launch else (1.5 if fast else style.accel)
                v_new = max(min(v + gain, want, allowed), v - _MAX_COMFORT_DECEL, 0.0)
                if launch and v_new >= want - 0.01:
                    launch = False
                    self.label("harsh_acceleration", t0, t + 1, "harsh_acceleration",
                               from_kmh=0.0, to_kmh=v_new * 3.6, accel_mps2=_HARD_LAUNCH)
            s_new = s + (v + v_new) / 2
            if s_new >= stop_at - 0.05 or (stop_at - s_new < 0.5 and v_new < 0.6):
                s_new, v_new = min(stop_at, length), 0.0
                hold_until = t + 1 + stops[stop_i][1]
                stop_i += 1
            if piece.sharp is False and pi + 1 < len(pieces) and pieces[pi + 1].sharp and (
                    s_new >= pieces[pi + 1].start_s):
                # Entered the sharp corner during this second: log it at 1 Hz.
                frac = (pieces[pi + 1].start_s - s) / max(s_new - s, 1e-9)
                self._dense(t + frac, _CORNER_PATTERN)
                corner = pieces[pi + 1]
                self.label("harsh_cornering", t + frac, t + frac + corner.length / max(v_new, 1),
                           "harsh_cornering", speed_kmh=v_new * 3.6, radius_m=corner.radius)
            s, v = min(s_new, length), v_new
            ss.append(s)
            vs.append(v)
            k += 1
        if ss[-1] < length or vs[-1] > 0:
            ss.append(length)
            vs.append(0.0)
        return _Ride(t0, path, ss, vs)

    def _crawl(self, t: float) -> float:
        """Stop-and-go in the jam: the rider's speed swings across the crawl range."""
        lo, hi = JAM_CRAWL_KMH
        swing = math.sin(2 * math.pi * t / 40.0 + self.style.wobble_phase)
        return (lo + hi + (hi - lo) * swing) / 2 / 3.6

    def _dense(self, t: float, pattern: tuple[float, ...]) -> None:
        self.dense.append([t + dt + _PING_OFFSET for dt in pattern])

    # -- pings -----------------------------------------------------------------------------

    def pings(self) -> list[tuple[float, dict]]:
        """(arrival time, ping value) for every fix the phone sends."""
        rng = self.rng
        times = self._ping_times()
        protected = [(w[0] - 10, w[-1] + 10) for w in self.dense]
        jumps: list[float] = []
        if self.behaviour == "gps_jump":
            first = rng.uniform(5, 25) * 60
            jumps = [first, first + rng.uniform(12, 20) * 60]
        offline: tuple[float, float, float] | None = None
        if self.behaviour == "offline":
            start = rng.uniform(8, 40) * 60
            # Offline 2-3.5 min, uploaded 5-15 s after reconnecting: never more than 4 min
            # behind the rider's newest fix, inside the core's 5 min allowed lateness.
            offline = (start, start + rng.uniform(120, 210), rng.uniform(5, 15))
            self.label("offline_upload", offline[0], offline[1], None,
                       uploaded_after_s=offline[1] - offline[0] + offline[2])
        sigma = self.noise_m
        noise = [rng.gauss(0, sigma), rng.gauss(0, sigma)]
        last_t = 0.0
        phase_i = 0
        phases = self.phases
        out = []
        for t in times:
            while phase_i + 1 < len(phases) and t >= phases[phase_i].t1:
                phase_i += 1
            x, y, heading, speed = _state(phases[phase_i], t)
            rho = math.exp(-(t - last_t) / 45.0)
            last_t = t
            keep = math.sqrt(1 - rho * rho) * sigma
            noise = [noise[0] * rho + keep * rng.gauss(0, 1),
                     noise[1] * rho + keep * rng.gauss(0, 1)]
            # Worse among the towers, fading out over a block's width: no sharp edge to it.
            canyon = 1.0 + (self.canyon_factor - 1.0) * max(
                0.0, 1.0 - URBAN_CANYON.distance(x, y) / _CANYON_FADE_M)
            ex = noise[0] * canyon + rng.gauss(0, 0.5)
            ny = noise[1] * canyon + rng.gauss(0, 0.5)
            accuracy = 3 + 12 * rng.random() ** 2
            guarded = any(lo <= t <= hi for lo, hi in protected)
            if jumps and t >= jumps[0] and not guarded:
                jumps.pop(0)
                self.label("gps_teleport", t, t, "gps_anomaly", jump_m=300.0)
                bearing = rng.uniform(0, 2 * math.pi)
                ex, ny = ex + 300 * math.sin(bearing), ny + 300 * math.cos(bearing)
            elif not guarded and rng.random() < 0.01:
                # Urban canyon: a fix the phone itself knows is poor; hygiene drops it.
                accuracy = rng.uniform(80, 150)
                ex, ny = ex + rng.gauss(0, 40), ny + rng.gauss(0, 40)
            lat, lon = _latlon((x + ex, y + ny))
            value: dict = {"rider_id": self.rider_id, "ts": _ms(t), "lat": round(lat, 6),
                           "lon": round(lon, 6)}
            if self.reports_motion:
                moving = speed > 0.3
                value["speed_kmh"] = round(max(0.0, speed * 3.6 + rng.gauss(0, 0.4))
                                           if moving else abs(rng.gauss(0, 0.15)), 1)
                value["heading_deg"] = round(heading + rng.gauss(0, 2 if moving else 6), 1) % 360
            value["accuracy_m"] = round(accuracy, 1)
            value["city"] = CITY
            arrival = t
            if offline is not None and offline[0] <= t < offline[1]:
                arrival = offline[1] + offline[2] + (t - offline[0]) / 1000
            out.append((arrival, value))
        return out

    def _ping_times(self) -> list[float]:
        rng = self.rng
        times: list[float] = []
        dense = sorted(self.dense)
        di = 0
        t = rng.uniform(0, 4)
        while t < self.end_s:
            if di < len(dense) and t >= dense[di][0] - 1.0:
                times.extend(p for p in dense[di]
                             if p < self.end_s and (not times or p > times[-1] + 0.5))
                t = max(t, dense[di][-1]) + rng.uniform(3, 5)
                di += 1
                continue
            times.append(t)
            t += rng.uniform(3, 5)
        return times


def _jam_spans(path: Path) -> list[tuple[float, float]]:
    """The stretches (start, end along the path) ridden along the jammed block; crossing it at
    a junction is not riding in the jam."""
    a, b = JAM_BLOCK
    ux, uy, _ = _unit(a, b)
    block = _Rect(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])).grown(1.0)
    spans = []
    for piece in path.pieces:
        if piece.sign != 0.0 or abs(piece.dx * uy - piece.dy * ux) > 1e-6:
            continue
        lo, hi = _clip((piece.x0, piece.y0), piece.dx, piece.dy, piece.length, block)
        if hi - lo > 1.0:
            spans.append((piece.start_s + lo, piece.start_s + hi))
    return spans


def _interp(values: list[float], x: float) -> float:
    k = min(max(int(x), 0), len(values) - 2)
    frac = min(max(x - k, 0.0), 1.0)
    return values[k] + (values[k + 1] - values[k]) * frac


def _state(phase: _Ride | _Dwell, t: float) -> tuple[float, float, float, float]:
    """Position, heading and speed at time t (held at the phase's ends outside it)."""
    if isinstance(phase, _Dwell):
        return phase.pos[0], phase.pos[1], phase.heading, 0.0
    x = t - phase.t0
    s = _interp(phase.s, x)
    v = _interp(phase.v, x)
    px, py, heading = phase.path.at(s)
    return px, py, heading, v


def _ms(t: float) -> int:
    return BASE_TS_MS + round(t * 1000)


def rider_id(index: int) -> str:
    return f"rider-{index + 1:04d}"


def _weather(minutes: int) -> list[dict]:
    cloudy = {"city": CITY, "ts": _ms(0), "valid_until": _ms(42 * 60), "condition": "cloudy",
              "warning_level": "none", "temperature_c": 31.0, "precip_mm_h": 0.0,
              "wind_mps": 3.0}
    # The storm comes late in the hour, so earlier late orders have no weather to explain them.
    storm = {"city": CITY, "ts": _ms(42 * 60), "valid_until": _ms(60 * 60),
             "condition": "rainstorm", "warning_level": "orange", "temperature_c": 26.0,
             "precip_mm_h": 45.0, "wind_mps": 9.0}
    return [w for w in (cloudy, storm) if w["ts"] <= _ms(minutes * 60)]


def generate_city(seed: int = 7, riders: int = 300, minutes: int = 60,
                  noise_m: float = 3.5, canyon_factor: float = 1.0) -> City:
    """`noise_m`: the standard deviation of the phones' drifting position error;
    `canyon_factor`: how many times worse it is among the towers of URBAN_CANYON."""
    end_s = minutes * 60.0
    counter = iter(range(1, 10**7))

    def next_order() -> str:
        return f"order-{next(counter):05d}"

    timed: list[tuple[int, int, dict]] = []  # (arrival ms, sequence, record)
    behaviours: dict[str, str] = {}
    labels: list[dict] = []
    jammed: list[str] = []
    for w in _weather(minutes):
        timed.append((w["ts"], len(timed), {"topic": WEATHER_TOPIC, "key": CITY, "value": w}))
    for index in range(riders):
        behaviour = BAD_BEHAVIOURS[index] if index < len(BAD_BEHAVIOURS) else CLEAN
        sim = _RiderSim(index, behaviour, seed, end_s, next_order, noise_m, canyon_factor)
        sim.run()
        behaviours[sim.rider_id] = behaviour
        if sim.jammed:
            jammed.append(sim.rider_id)
        for arrival, value in sim.pings():
            timed.append((_ms(arrival), len(timed),
                          {"topic": GPS_TOPIC, "key": sim.rider_id, "value": value}))
        labels.extend(sim.labels)
        for value in sim.orders:
            if value["ts"] <= _ms(end_s):
                timed.append((value["ts"], len(timed),
                              {"topic": ORDER_TOPIC, "key": value["order_id"], "value": value}))
    for index, (points, reward) in REDEEMERS.items():
        if index < riders and end_s > 120:
            rider_id = f"rider-{index:04d}"
            value = {"redemption_id": f"redeem-{index:04d}", "rider_id": rider_id,
                     "ts": _ms(end_s - 120), "points": points, "reward": reward}
            timed.append((value["ts"], len(timed),
                          {"topic": REDEMPTION_TOPIC, "key": rider_id, "value": value}))
    timed.sort(key=lambda r: (r[0], r[1]))
    jam = None
    if end_s > JAM_FROM_S:
        jam = Jam(street=tuple(_latlon(p) for p in JAM_BLOCK), start_ts=_ms(JAM_FROM_S),
                  end_ts=_ms(min(JAM_UNTIL_S, end_s)), riders=tuple(jammed))
    labels = sorted((x for x in labels if x["start_ts"] <= _ms(end_s)),
                    key=lambda x: (x["start_ts"], x["rider_id"], x["kind"]))
    return City(records=[r for _, _, r in timed], zones=build_zones(), behaviours=behaviours,
                start_ts=BASE_TS_MS, end_ts=_ms(end_s), jam=jam, labels=labels)
