"""Per-rider event-time reordering: hold events until no earlier one can still arrive.

An event may arrive up to `allowed_lateness` after a later one of the same rider. Events are
released in (ts, kind, content) order once the rider's newest event time is more than the
lateness past them, so every arrival order within the bound releases the same sequence.
"""

import hashlib
import heapq
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


def identity(event: RiderEvent) -> tuple:
    """The content that makes an event unique, in a form that sorts without None."""
    kind = type(event)
    if kind is Ping or kind is GpsPing:
        return (event.lat, event.lon, _f(event.speed_kmh), _f(event.heading_deg),
                _f(event.accuracy_m), event.city or "")
    if kind is OrderEvent:
        return (event.order_id, event.type, event.promised_ts or -1, event.city or "",
                _f(event.lat), _f(event.lon))
    return (event.alert_id, event.verdict, event.reviewer or "")


def _f(value: float | None) -> float:
    return -1.0 if value is None else value


def event_key(ts: int, rank: int, ident: tuple) -> int:
    """A stable 64-bit digest of an event's content: the same in every process (Python's
    hash() of a str is not), so a duplicate redelivered after a restart is still recognised.
    A collision (one in 2**64) would only drop one record."""
    digest = hashlib.blake2b(repr((ts, rank, ident)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class RiderBuffer:
    """Reorder buffer and duplicate filter of one rider."""

    __slots__ = ("_heap", "_released_log", "_seen", "last_ts", "max_ts", "released_until")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, tuple, RiderEvent]] = []
        self.max_ts: int | None = None  # newest fix
        self.last_ts: int | None = None  # newest event processed
        self.released_until: int | None = None  # events before this were processed
        # Digests, not the keys themselves: 64 bits are a fraction of a key's memory.
        self._seen: set[int] = set()
        self._released_log: deque[tuple[int, int]] = deque()

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, event: RiderEvent) -> str:
        """Buffer an event: 'buffered', 'duplicate' or 'late'."""
        rank = _RANK[type(event)]
        ident = identity(event)
        key = event_key(event.ts, rank, ident)
        if key in self._seen:
            return "duplicate"
        if self.released_until is not None and event.ts < self.released_until:
            return "late"
        self._seen.add(key)
        heapq.heappush(self._heap, (event.ts, rank, ident, event))
        # Only fixes move a rider's clock: they come every few seconds from the phone itself,
        # while order events come from other services and may run ahead of it.
        if rank == 0 and (self.max_ts is None or event.ts > self.max_ts):
            self.max_ts = event.ts
        return "buffered"

    def release(self, before_ts: int, dedupe_horizon_ms: int) -> list[RiderEvent]:
        """Pop every event older than `before_ts`, in event-time order."""
        if self.released_until is None or before_ts > self.released_until:
            self.released_until = before_ts
        out: list[RiderEvent] = []
        heap = self._heap
        log = self._released_log
        while heap and heap[0][0] < before_ts:
            ts, rank, ident, event = heapq.heappop(heap)
            log.append((ts, event_key(ts, rank, ident)))
            out.append(event)
        if out:
            self.last_ts = out[-1].ts
        # Remember released events for one more lateness period: a duplicate arriving after its
        # original was processed must still be recognised as one.
        horizon = self.released_until - dedupe_horizon_ms
        seen = self._seen
        while log and log[0][0] < horizon:
            seen.discard(log.popleft()[1])
        return out

    def earliest_ts(self) -> int | None:
        return self._heap[0][0] if self._heap else None

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
                         released=[[ts, key] for ts, key in self._released_log])

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION)
        buffer = cls()
        buffer.max_ts = values["max_ts"]
        buffer.last_ts = values["last_ts"]
        buffer.released_until = values["released_until"]
        buffer._released_log = deque((ts, key) for ts, key in values["released"])
        buffer._seen = {key for _, key in buffer._released_log}
        return buffer
