"""What waits to be written to Redis, bounded by riders, not by records.

Each rider has one entry: the newest value of every field, their newest alerts (at most the
number Redis keeps), and their orders' latest state. A failed write puts its batch back under
whatever came meanwhile, newer values winning, so Redis down for an hour costs memory in
proportion to the riders who changed, and nothing committed is lost.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

import orjson

from schemas import RiderProfile
from streams.config.topics import TopicNames

Output = tuple[str, bytes | None, bytes, int | None]  # topic, key, value, partition
# A rider's orders waiting: a rider carries a few at once; more waiting means Redis was away
# for long, and the oldest have ended since.
MAX_ORDERS_WAITING = 16


@dataclass(slots=True)
class RiderChanges:
    fields: dict[str, str | int] = field(default_factory=dict)
    alerts: list[bytes] = field(default_factory=list)  # oldest first
    orders: dict[str, tuple[int, bool]] = field(default_factory=dict)  # id -> (ts, open)
    standing: bool = False  # score, points or city changed: the leaderboard too

    def add_order(self, order_id: str, ts: int, is_open: bool) -> None:
        known = self.orders.get(order_id)
        if known is None or ts >= known[0]:
            self.orders[order_id] = (ts, is_open)
        if len(self.orders) > MAX_ORDERS_WAITING:
            oldest = min(self.orders, key=lambda o: self.orders[o][0])
            del self.orders[oldest]

    def under(self, newer: "RiderChanges", alerts_kept: int) -> "RiderChanges":
        """These older changes with `newer` on top."""
        merged = RiderChanges({**self.fields, **newer.fields},
                              (self.alerts + newer.alerts)[-alerts_kept:], dict(self.orders),
                              self.standing or newer.standing)
        for order_id, (ts, is_open) in newer.orders.items():
            merged.add_order(order_id, ts, is_open)
        return merged


@dataclass(frozen=True, slots=True)
class Placing:
    """Where a rider stands as their partition knows them: their city, and whether they are
    eligible for its role-model leaderboard at the partition's event time."""

    city: str | None
    role_model: bool


def no_placing(_rider_id: str) -> Placing | None:
    return None


@dataclass(frozen=True, slots=True)
class ServedRider:
    """What a worker's state says of a rider, to serve again (after a restore, or a Redis that
    came back empty)."""

    rider_id: str
    delta: Output | None  # the latest score delta, as its output record
    balance: int | None  # the points balance, None before any change
    placing: Placing


@dataclass(frozen=True, slots=True)
class Position:
    ts: int
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class ProfileChange:
    certified_until: int | None  # None: not certified
    source: tuple[int, int]  # (partition, offset) of the rider-profiles record


class PendingWrites:
    def __init__(self, topics: TopicNames, alerts_kept: int) -> None:
        self.topics = topics
        self.alerts_kept = alerts_kept
        self.riders: dict[str, RiderChanges] = {}
        self.positions: dict[str, Position] = {}
        self.profiles: dict[str, ProfileChange] = {}

    def __len__(self) -> int:
        """Riders with something waiting."""
        return len(self.riders.keys() | self.positions.keys() | self.profiles.keys())

    def _rider(self, rider_id: str) -> RiderChanges:
        changes = self.riders.get(rider_id)
        if changes is None:
            changes = self.riders[rider_id] = RiderChanges()
        return changes

    def add_outputs(self, outputs: Iterable[Output],
                    placing_of: Callable[[str], Placing | None] = no_placing) -> None:
        """Committed outputs of a rider partition; `placing_of`: the rider's city and
        role-model eligibility as the partition knows them, for the leaderboard (None: not
        known, so off it)."""
        t = self.topics
        for topic, _key, value, _ in outputs:
            if topic not in (t.deltas, t.points, t.alerts):
                continue
            record = orjson.loads(value)
            changes = self._rider(record["rider_id"])
            if topic == t.alerts:
                changes.alerts = [*changes.alerts, value][-self.alerts_kept:]
                continue
            if topic == t.deltas:
                changes.fields.update(score=record["score"], tier=record["tier"],
                                      score_ts=record["ts"], delta_id=record["delta_id"])
            else:
                changes.fields.update(points=record["balance"], points_ts=record["ts"],
                                      points_change_id=record["change_id"])
            changes.standing = True
            self._place(changes, placing_of(record["rider_id"]))

    @staticmethod
    def _place(changes: RiderChanges, placing: Placing | None) -> None:
        if placing is not None and placing.city:
            changes.fields["city"] = placing.city
        changes.fields["role_model"] = int(placing is not None and placing.role_model)

    def add_served(self, riders: Iterable[ServedRider]) -> None:
        for rider in riders:
            if rider.delta is not None:
                self.add_outputs([rider.delta], lambda _, placing=rider.placing: placing)
            if rider.balance is not None:
                changes = self._rider(rider.rider_id)
                changes.fields["points"] = rider.balance
                changes.standing = True
                self._place(changes, rider.placing)

    def add_order(self, rider_id: str, order_id: str, ts: int, is_open: bool) -> None:
        self._rider(rider_id).add_order(order_id, ts, is_open)

    def add_position(self, rider_id: str, position: Position) -> None:
        known = self.positions.get(rider_id)
        if known is None or position.ts >= known.ts:
            self.positions[rider_id] = position

    def add_profile(self, profile: RiderProfile, source: tuple[int, int]) -> None:
        until = profile.certified_until if profile.first_aid_certified else None
        self.profiles[profile.rider_id] = ProfileChange(until, source)

    def add_certified(self, certified: dict[str, int]) -> None:
        """Certificates known to be in force (rider -> certified_until) to write again, after
        Redis lost them; read from no rider-profiles offset."""
        for rider_id, until in certified.items():
            self.profiles.setdefault(rider_id, ProfileChange(until, (-1, -1)))

    def take(self, limit: int | None = None) -> "PendingWrites":
        """What waits (at most `limit` riders' changes, positions and profiles each), as a
        batch to write, leaving the rest."""
        batch = PendingWrites(self.topics, self.alerts_kept)
        if limit is None:
            batch.riders, self.riders = self.riders, {}
            batch.positions, self.positions = self.positions, {}
            batch.profiles, self.profiles = self.profiles, {}
        else:
            batch.riders = _pop(self.riders, limit)
            batch.positions = _pop(self.positions, limit)
            batch.profiles = _pop(self.profiles, limit)
        return batch

    def put_back(self, batch: "PendingWrites") -> None:
        """A batch that could not be written, under what came since."""
        for rider_id, older in batch.riders.items():
            newer = self.riders.get(rider_id)
            self.riders[rider_id] = older if newer is None else older.under(
                newer, self.alerts_kept)
        for rider_id, position in batch.positions.items():
            self.add_position(rider_id, position)
        for rider_id, profile in batch.profiles.items():
            self.profiles.setdefault(rider_id, profile)

    def unwritten_offset(self, partition: int) -> int | None:
        """The oldest rider-profiles offset of `partition` still waiting."""
        offsets = [p.source[1] for p in self.profiles.values() if p.source[0] == partition]
        return min(offsets, default=None)


def _pop(entries: dict, limit: int) -> dict:
    return {key: entries.pop(key) for key in list(islice(entries, limit))}
