"""Event time, owned in one place: the stream's clock, each rider's, lateness and idle release.

The stream's clock is robust to wrong phone clocks: it is the (lower) median event time of
the last `clock_window` fixes to arrive, so records with wrong clocks that are a minority of
what arrives cannot make everyone else's records late or close windows early; it may step back
when such records leave the window, but what it decided (the area time) never does. A rider
who goes quiet does not hold it back (only arrivals count), and a lone rider moves it, half a
window behind. A gateway heartbeat, which is trusted, moves it directly. A record dated more
than `max_clock_ahead_s` after its arrival (when the arrival time is known: the Kafka record's
timestamp, or a replay envelope's `timestamp`) is rejected before it touches anything.

Two horizons matter. A rider's events are final (processed in event-time order) once the
rider's own newest fix is the allowed lateness past them. Area results (congestion windows,
order decisions) are final once the stream's clock, less the lateness and the idle wait, is
past them: by then every rider, quiet ones included, has been processed that far. In a fleet
no clock passes the input cap: the event time up to which every input topic has delivered.
"""

from bisect import bisect_left, insort
from collections import deque
from typing import Self

from streams.config.thresholds import StreamTiming
from streams.primitives.snapshot import Snapshot, fields, versioned

END_OF_TIME = 2**62

KIND = "pipeline.clock"
VERSION = 1


def clock_ahead(ts: int, arrival_ts: int | None, max_ahead_ms: int) -> str | None:
    """The dead-letter reason of a record dated more than `max_ahead_ms` after its arrival,
    or None when its date is plausible (or its arrival is unknown)."""
    if arrival_ts is None or ts - arrival_ts <= max_ahead_ms:
        return None
    return (f"clock ahead: event time {ts} is {(ts - arrival_ts) / 1000:.0f} s after the "
            f"record's arrival at {arrival_ts} (allowed {max_ahead_ms / 1000:g} s)")


class EventClock:
    __slots__ = ("_ahead_ms", "_arrived", "_idle_ms", "_lateness_ms", "_realtime_ms", "_sorted",
                 "_trusted_ts", "_window", "area_time", "input_cap", "stream_ts")

    def __init__(self, timing: StreamTiming) -> None:
        self._lateness_ms = int(timing.allowed_lateness_s * 1000)
        self._idle_ms = int(timing.idle_release_s * 1000)
        self._realtime_ms = int(timing.realtime_max_age_s * 1000)
        self._ahead_ms = int(timing.max_clock_ahead_s * 1000)
        self._window = timing.clock_window
        self._arrived: deque[int] = deque()  # event times of the last fixes, in arrival order
        self._sorted: list[int] = []  # the same, sorted
        self.stream_ts: int | None = None  # the robust stream clock
        self._trusted_ts: int | None = None  # the newest heartbeat
        self.input_cap = END_OF_TIME
        self.area_time = -END_OF_TIME  # area results before this are final

    @property
    def lateness_ms(self) -> int:
        return self._lateness_ms

    def observe(self, ts: int, trusted: bool = False) -> None:
        """A fix at event time `ts`, or a gateway's heartbeat (`trusted`).

        Fixes drive the stream's clock: they come every few seconds from the phones themselves,
        while order events come from other services."""
        if trusted:
            if self._trusted_ts is None or ts > self._trusted_ts:
                self._trusted_ts = ts
        else:
            arrived, ordered = self._arrived, self._sorted
            arrived.append(ts)
            insort(ordered, ts)
            if len(arrived) > self._window:
                del ordered[bisect_left(ordered, arrived.popleft())]
        # Three fixes at least (or the whole window, if smaller) before the clock starts: a
        # wrong first record alone must not set it.
        n = len(self._sorted)
        median = self._sorted[(n - 1) // 2] if n >= min(3, self._window) else None
        trusted_ts = self._trusted_ts
        self.stream_ts = median if trusted_ts is None else (
            trusted_ts if median is None else max(median, trusted_ts))

    def ahead_of_arrival(self, ts: int, arrival_ts: int | None) -> str | None:
        return clock_ahead(ts, arrival_ts, self._ahead_ms)

    def rider_final_before(self, rider_ts: int, limit: int = END_OF_TIME) -> int:
        """A rider whose newest fix is `rider_ts`: events before the result are final."""
        return min(rider_ts, self.input_cap, limit + self._lateness_ms) - self._lateness_ms

    def next_area_time(self) -> int | None:
        """Where the area clock may move now, or None if it may not move."""
        if self.stream_ts is None:
            return None
        clock = min(self.stream_ts, self.input_cap) - self._lateness_ms - self._idle_ms
        return clock if clock > self.area_time else None

    def is_fresh(self, ts: int) -> bool:
        """Is an alert for a fix at `ts` still worth reading out to the rider?"""
        return self.stream_ts is None or self.stream_ts - ts <= self._realtime_ms

    def snapshot(self) -> Snapshot:
        return versioned(KIND, VERSION, stream_ts=self.stream_ts, area_time=self.area_time,
                         input_cap=self.input_cap, arrived=list(self._arrived),
                         trusted_ts=self._trusted_ts)

    @classmethod
    def restore(cls, data: Snapshot, timing: StreamTiming) -> Self:
        values = fields(data, KIND, VERSION)
        clock = cls(timing)
        clock.stream_ts = values["stream_ts"]
        clock._trusted_ts = values["trusted_ts"]
        clock.area_time = values["area_time"]
        clock.input_cap = values["input_cap"]
        # The window may have changed: keep the latest arrivals that still fit.
        clock._arrived = deque(values["arrived"][-clock._window:])
        clock._sorted = sorted(clock._arrived)
        return clock
