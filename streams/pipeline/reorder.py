"""Per-rider event-time reordering: hold events until no earlier one can still arrive.

An event may arrive up to `allowed_lateness` after a later one of the same rider. Events are
released in (ts, kind, content) order once the rider's newest event time is more than the
lateness past them, so every arrival order within the bound releases the same sequence.

A buffered fix is one bytes object (time, kind, presence flags and five doubles, then the city):
about 100 bytes, where a fix object with its boxed floats, sort tuple and digest took ~500. The
same bytes are its sort key and its duplicate key; a stable digest of them is taken only for
snapshots.
"""

import hashlib
import struct
from bisect import bisect_left
from typing import Self

from schemas import AlertReview, GpsPing, OrderEvent, PointRedemption
from streams.primitives.events import Ping
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "pipeline.buffer"
VERSION = 1

RiderEvent = Ping | GpsPing | OrderEvent | AlertReview | PointRedemption

# Within one millisecond, fixes come before the order actions they explain, then reviews, and
# redemptions last.
_RANK = {Ping: 0, GpsPing: 0, OrderEvent: 1, AlertReview: 2, PointRedemption: 3}
# Event times are biased so that they sort as unsigned big-endian bytes.
_BIAS = 1 << 63
_HEAD = struct.Struct(">QB")  # time, rank
_FIX = struct.Struct(">QBBddddd")  # time, rank 0, flags, lat, lon, speed, heading, accuracy
_SPEED, _HEADING, _ACCURACY = 1, 2, 4


def identity(event: OrderEvent | AlertReview | PointRedemption) -> tuple:
    """The content that makes an order event, review or redemption unique."""
    if type(event) is OrderEvent:
        return (event.order_id, event.type, event.promised_ts, event.city, event.lat, event.lon)
    if type(event) is PointRedemption:
        return (event.redemption_id, event.points, event.reward)
    return (event.alert_id, event.verdict, event.reviewer)


def event_key(event: RiderEvent) -> bytes:
    """The event's content as bytes that sort by (time, rank, content)."""
    if type(event) is Ping or type(event) is GpsPing:
        speed, heading, accuracy = event.speed_kmh, event.heading_deg, event.accuracy_m
        flags = ((speed is not None) * _SPEED | (heading is not None) * _HEADING
                 | (accuracy is not None) * _ACCURACY)
        key = _FIX.pack(event.ts + _BIAS, 0, flags, event.lat, event.lon, speed or 0.0,
                        heading or 0.0, accuracy or 0.0)
        return key + event.city.encode() if event.city else key
    return _HEAD.pack(event.ts + _BIAS, _RANK[type(event)]) + repr(identity(event)).encode()


def stable_digest(key: bytes) -> int:
    """A 64-bit digest of a key, the same in every process (Python's hash() of bytes is not),
    so a duplicate redelivered after a restart is still recognised. A collision (one in 2**64)
    would only drop one record."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def _prefix(ts: int) -> bytes:
    """Sorts before every key at `ts` and after every key before it."""
    return (ts + _BIAS).to_bytes(8, "big")


def _ts_of(key: bytes) -> int:
    return int.from_bytes(key[:8], "big") - _BIAS


class RiderBuffer:
    """Reorder buffer and duplicate filter of one rider.

    Both are sorted lists of keys: records arrive almost always in order, so a key is mostly
    appended, and a duplicate is found by bisection. A record before what was released is
    late or a copy of a released one, so only then is the released list searched."""

    __slots__ = ("_buffered", "_others", "_released", "_restored", "_rider_id", "last_ts",
                 "max_ts", "released_until")

    def __init__(self) -> None:
        self._buffered: list[bytes] = []  # sorted
        self._released: list[bytes] = []  # sorted: released lately, for duplicates
        self._others: dict[bytes, RiderEvent] = {}  # buffered order events and reviews
        self._restored: dict[int, int] = {}  # digest -> ts, released before a restore
        self._rider_id = ""
        self.max_ts: int | None = None  # newest fix
        self.last_ts: int | None = None  # newest event processed
        self.released_until: int | None = None  # events before this were processed

    def __len__(self) -> int:
        return len(self._buffered)

    def add(self, event: RiderEvent) -> str:
        """Buffer an event: 'buffered', 'duplicate' or 'late'."""
        key = event_key(event)
        ts = event.ts
        if self.released_until is not None and ts < self.released_until:
            released = self._released
            i = bisect_left(released, key)
            if (i < len(released) and released[i] == key) or (
                    self._restored and stable_digest(key) in self._restored):
                return "duplicate"
            return "late"
        buffered = self._buffered
        if not buffered or key > buffered[-1]:
            buffered.append(key)
        else:
            i = bisect_left(buffered, key)
            if buffered[i] == key:
                return "duplicate"
            buffered.insert(i, key)
        if key[8]:  # not a fix
            self._others[key] = event
        # Only fixes move a rider's clock: they come every few seconds from the phone itself,
        # while order events come from other services and may run ahead of it.
        elif self.max_ts is None or ts > self.max_ts:
            self.max_ts = ts
            self._rider_id = event.rider_id
        return "buffered"

    def release(self, before_ts: int, dedupe_horizon_ms: int) -> list[RiderEvent]:
        """Take every event older than `before_ts`, in event-time order."""
        if self.released_until is None or before_ts > self.released_until:
            self.released_until = before_ts
        buffered = self._buffered
        n = bisect_left(buffered, _prefix(before_ts))
        out: list[RiderEvent] = []
        if n:
            keys = buffered[:n]
            del buffered[:n]
            unpack = _FIX.unpack_from
            rider_id = self._rider_id
            for key in keys:
                if key[8]:
                    out.append(self._others.pop(key))
                    continue
                ts, _, flags, lat, lon, speed, heading, accuracy = unpack(key)
                out.append(Ping(rider_id, ts - _BIAS, lat, lon,
                                speed if flags & _SPEED else None,
                                heading if flags & _HEADING else None,
                                accuracy if flags & _ACCURACY else None,
                                key[_FIX.size:].decode() or None))
            self._released.extend(keys)
            self.last_ts = out[-1].ts
        # Remember released events for a while: a duplicate arriving after its original was
        # processed must still be recognised as one.
        horizon = self.released_until - dedupe_horizon_ms
        released = self._released
        old = bisect_left(released, _prefix(horizon))
        if old:
            del released[:old]
        if self._restored:
            self._restored = {d: t for d, t in self._restored.items() if t >= horizon}
        return out

    def earliest_ts(self) -> int | None:
        return _ts_of(self._buffered[0]) if self._buffered else None

    def snapshot(self) -> Snapshot:
        """What was processed: clocks and the digests of recently released events. Buffered
        (unreleased) events are not part of it: whoever restores re-reads them from the input
        (a worker commits the offset of its oldest buffered record)."""
        # The rider's clock as far as processed events take it: buffered ones move it again
        # when re-read, and must not find it ahead of them (with a lateness lowered at the
        # restart, they would all be late).
        max_ts = None if self.last_ts is None or self.max_ts is None else min(
            self.max_ts, self.last_ts)
        return versioned(KIND, VERSION, max_ts=max_ts, last_ts=self.last_ts,
                         released_until=self.released_until,
                         released=[[_ts_of(key), stable_digest(key)] for key in self._released]
                         + [[ts, digest] for digest, ts in self._restored.items()])

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        buffer = cls()
        buffer.max_ts = values["max_ts"]
        buffer.last_ts = values["last_ts"]
        buffer.released_until = values["released_until"]
        buffer._restored = {digest: ts for ts, digest in values["released"]}
        return buffer
