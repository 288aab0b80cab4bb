"""Event time, owned in one place: the stream's clock, each rider's, lateness and idle release.

Two horizons matter. A rider's events are final (processed in event-time order) once the
rider's own newest fix is the allowed lateness past them. Area results (congestion windows,
order decisions) are final once the stream's clock, less the lateness and the idle wait, is
past them: by then every rider, quiet ones included, has been processed that far. In a fleet
no clock passes the input cap: the event time up to which every input topic has delivered.
"""

from typing import Self

from streams.config.thresholds import StreamTiming
from streams.primitives.snapshot import Snapshot, fields, versioned

END_OF_TIME = 2**62

KIND = "pipeline.clock"
VERSION = 1


class EventClock:
    __slots__ = ("_idle_ms", "_lateness_ms", "_realtime_ms", "area_time", "input_cap",
                 "stream_ts")

    def __init__(self, timing: StreamTiming) -> None:
        self._lateness_ms = int(timing.allowed_lateness_s * 1000)
        self._idle_ms = int(timing.idle_release_s * 1000)
        self._realtime_ms = int(timing.realtime_max_age_s * 1000)
        self.stream_ts: int | None = None  # newest fix (or heartbeat) event time
        self.input_cap = END_OF_TIME
        self.area_time = -END_OF_TIME  # area results before this are final

    @property
    def lateness_ms(self) -> int:
        return self._lateness_ms

    def observe(self, ts: int) -> None:
        # Fixes (and heartbeats) drive the stream's clock: they come every few seconds from
        # the phones themselves, while order events come from other services.
        if self.stream_ts is None or ts > self.stream_ts:
            self.stream_ts = ts

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
                         input_cap=self.input_cap)

    @classmethod
    def restore(cls, data: Snapshot, timing: StreamTiming) -> Self:
        values = fields(data, KIND, VERSION)
        clock = cls(timing)
        clock.stream_ts = values["stream_ts"]
        clock.area_time = values["area_time"]
        clock.input_cap = values["input_cap"]
        return clock
