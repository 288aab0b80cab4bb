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
import heapq
import struct
from collections import deque
from typing import Self

from schemas import AlertReview, GpsPing, OrderEvent
from streams.primitives.events import Ping
from streams.primitives.snapshot import Snapshot, fields, versioned

KIND = "pipeline.buffer"
VERSION = 1

RiderEvent = Ping | GpsPing | OrderEvent | AlertReview

# Within one millisecond, fixes come before the order actions they explain, and reviews last.
_RANK = {Ping: 0, GpsPing: 0, OrderEvent: 1, AlertReview: 2}
# Event times are biased so that they sort as unsigned big-endian bytes.
_BIAS = 1 << 63
_HEAD = struct.Struct(">QB")  # time, rank
_FIX = struct.Struct(">QBBddddd")  # time, rank 0, flags, lat, lon, speed, heading, accuracy
_SPEED, _HEADING, _ACCURACY = 1, 2, 4


def identity(event: OrderEvent | AlertReview) -> tuple:
    """The content that makes an order event or review unique."""
    if type(event) is OrderEvent:
        return (event.order_id, event.type, event.promised_ts, event.city, event.lat, event.lon)
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


class RiderBuffer:
    """Reorder buffer and duplicate filter of one rider."""

    __slots__ = ("_heap", "_others", "_released_log", "_restored", "_rider_id", "_seen",
                 "last_ts", "max_ts", "released_until")

    def __init__(self) -> None:
        self._heap: list[bytes] = []
        self._others: dict[bytes, RiderEvent] = {}  # buffered order events and reviews
        self._rider_id = ""
        self.max_ts: int | None = None  # newest fix
        self.last_ts: int | None = None  # newest event processed
        self.released_until: int | None = None  # events before this were processed
        self._seen: set[bytes | int] = set()  # keys buffered or released lately
        self._released_log: deque[tuple[int, bytes | int]] = deque()
        self._restored = 0  # digests from a snapshot still in _seen

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, event: RiderEvent) -> str:
        """Buffer an event: 'buffered', 'duplicate' or 'late'."""
        key = event_key(event)
        seen = self._seen
        if key in seen or (self._restored and stable_digest(key) in seen):
            return "duplicate"
        ts = event.ts
        if self.released_until is not None and ts < self.released_until:
            return "late"
        seen.add(key)
        heapq.heappush(self._heap, key)
        if key[8]:  # not a fix
            self._others[key] = event
        # Only fixes move a rider's clock: they come every few seconds from the phone itself,
        # while order events come from other services and may run ahead of it.
        elif self.max_ts is None or ts > self.max_ts:
            self.max_ts = ts
            self._rider_id = event.rider_id
        return "buffered"

    def release(self, before_ts: int, dedupe_horizon_ms: int) -> list[RiderEvent]:
        """Pop every event older than `before_ts`, in event-time order."""
        if self.released_until is None or before_ts > self.released_until:
            self.released_until = before_ts
        out: list[RiderEvent] = []
        heap = self._heap
        log = self._released_log
        bound = _prefix(before_ts)
        unpack = _FIX.unpack_from
        rider_id = self._rider_id
        while heap and heap[0] < bound:
            key = heapq.heappop(heap)
            if key[8]:
                event = self._others.pop(key)
                ts = event.ts
            else:
                ts, _, flags, lat, lon, speed, heading, accuracy = unpack(key)
                ts -= _BIAS
                event = Ping(rider_id, ts, lat, lon, speed if flags & _SPEED else None,
                             heading if flags & _HEADING else None,
                             accuracy if flags & _ACCURACY else None,
                             key[_FIX.size:].decode() or None)
            log.append((ts, key))
            out.append(event)
        if out:
            self.last_ts = out[-1].ts
        # Remember released events for a while: a duplicate arriving after its original was
        # processed must still be recognised as one.
        horizon = self.released_until - dedupe_horizon_ms
        seen = self._seen
        while log and log[0][0] < horizon:
            old = log.popleft()[1]
            seen.discard(old)
            if type(old) is int:
                self._restored -= 1
        return out

    def earliest_ts(self) -> int | None:
        return int.from_bytes(self._heap[0][:8], "big") - _BIAS if self._heap else None

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
                         released=[[ts, key if type(key) is int else stable_digest(key)]
                                   for ts, key in self._released_log])

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        buffer = cls()
        buffer.max_ts = values["max_ts"]
        buffer.last_ts = values["last_ts"]
        buffer.released_until = values["released_until"]
        buffer._released_log = deque((ts, key) for ts, key in values["released"])
        buffer._seen = {key for _, key in buffer._released_log}
        buffer._restored = len(buffer._released_log)
        return buffer
