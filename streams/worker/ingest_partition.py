"""One partition of an input topic: validate each record and route it to its rider partition.

Forwarding is transactional too (records, dead letters and the offset commit together), so a
restarted worker never forwards a record twice: a copy arriving after a heartbeat has moved
event time on would otherwise be a late record.
"""

import time
from collections.abc import Callable
from typing import Any

from schemas import DeadLetter, GpsPing, WeatherEvent
from streams.config.settings import KnightwatchSettings
from streams.primitives.events import HEARTBEAT_PREFIX
from streams.worker.codec import InputProgress, encode_rider_record
from streams.worker.input_position import (
    PolledAt,
    StartPosition,
    next_to_read,
    read_all,
    word_sent_ms,
)
from streams.worker.partitioning import partition_for
from streams.worker.transactional import TransactionalPartition
from streams.worker.validation import read_input


class IngestPartition(TransactionalPartition):
    stage = "ingest"

    def __init__(self, settings: KnightwatchSettings, topic: str, partition: int,
                 client_kwargs: dict[str, Any],
                 highwater: Callable[[], int | None],
                 position: StartPosition | None = None,
                 polled_at: PolledAt | None = None) -> None:
        """`highwater`: the partition's end offset as of the consumer's last fetch;
        `position`: where this owner starts reading, asked while it has read nothing;
        `polled_at`: when that fetch was."""
        super().__init__(settings, source_topic=topic, partition=partition, state_topic=None,
                         client_kwargs=client_kwargs)
        self.role = settings.topics.input_roles()[topic]
        self.last_offset = -1
        self.highwater = highwater
        self.position = position
        self.polled_at = polled_at
        self.max_ts = -(2**62)
        self._reported: tuple[int, bool] | None = None
        self._reported_at = 0.0  # monotonic
        # A caught-up input says so again this often: rider partitions take its silence as a
        # sign that it may be behind (KafkaSettings.caught_up_valid_s).
        self._repeat_s = settings.kafka.caught_up_valid_s / 4

    def on_record(self, offset: int, key: bytes | None, value: bytes | None,
                  timestamp_ms: int | None = None) -> None:
        """`timestamp_ms`: the Kafka record's timestamp (see validation.read_input)."""
        if offset <= self.last_offset:
            return
        self.last_offset = offset
        self.since_checkpoint += 1
        topics = self.settings.topics
        partitions = self.settings.kafka.gps_partitions
        parsed = read_input(self.settings, self.role, self.source_topic, key, value,
                            timestamp_ms)
        if isinstance(parsed, DeadLetter):
            self.hold_dead_letter(parsed)
            return
        self.max_ts = max(self.max_ts, parsed.ts)  # type: ignore[attr-defined]
        encoded = encode_rider_record(parsed, (self.partition, offset))  # type: ignore[arg-type]
        if isinstance(parsed, WeatherEvent):
            targets: Any = range(partitions)  # every partition needs every city's weather
        elif isinstance(parsed, GpsPing) and parsed.rider_id.startswith(HEARTBEAT_PREFIX):
            # A heartbeat vouches for its own GPS partition only; with Kafka's default
            # partitioner that partition's riders are the rider partition of that number.
            targets = [self.partition % partitions]
        else:
            targets = [partition_for(parsed.rider_id, partitions)]  # type: ignore[attr-defined]
        for p in targets:
            self.outputs.append((topics.rider_events, key, encoded, p))

    def due(self) -> bool:
        if super().due():
            return True
        # Until it has said it is caught up, an input keeps the rider partitions informed;
        # once caught up, it repeats it for their idleness rule.
        now = time.monotonic()
        if self._reported is None or not self._reported[1]:
            return now - self.last_checkpoint >= self.interval_s
        return self._repeat_due(now)

    def _repeat_due(self, now: float) -> bool:
        return self._repeat_s > 0 and now - self._reported_at >= self._repeat_s

    async def trailing_outputs(self) -> list:
        highwater = self.highwater()
        read_to = await next_to_read(self.last_offset, self.position)
        caught_up = read_all(0 if read_to is None else read_to, highwater)
        progress = (self.max_ts, caught_up)
        now = time.monotonic()
        if progress == self._reported and not (caught_up and self._repeat_due(now)):
            return []
        self._reported, self._reported_at = progress, now
        topics = self.settings.topics
        partitions = self.settings.kafka.gps_partitions
        now_ms = int(time.time() * 1000)
        sent_ms = word_sent_ms(caught_up, self.polled_at, now_ms)
        encoded = encode_rider_record(
            InputProgress(self.source_topic, self.partition, self.max_ts, caught_up, sent_ms))
        targets = ([self.partition % partitions] if self.source_topic == topics.gps
                   else range(partitions))
        return [(topics.rider_events, None, encoded, p) for p in targets]

    def commit_offset(self) -> int | None:
        return self.last_offset + 1 if self.last_offset >= 0 else None

    def state_records(self) -> list[tuple[bytes, bytes | None]]:
        return []

    def restore(self, state: dict[bytes, bytes]) -> None:
        return None
