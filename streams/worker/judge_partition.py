"""One partition of the internal area-progress topic: the congestion judge of its cells."""

from typing import Any

from streams.area.judge import AreaJudge
from streams.config.settings import KnightwatchSettings
from streams.primitives.emissions import area_emissions
from streams.primitives.snapshot import dumps, fields, loads, versioned
from streams.worker.codec import decode_progress, encode_rider_record
from streams.worker.transactional import TransactionalPartition

_META = b"meta"
_META_KIND = "worker.judge_partition"
_META_VERSION = 1


class JudgePartition(TransactionalPartition):
    stage = "judges"

    def __init__(self, settings: KnightwatchSettings, partition: int,
                 client_kwargs: dict[str, Any]) -> None:
        super().__init__(settings, source_topic=settings.topics.area_progress,
                         partition=partition, state_topic=settings.topics.area_state,
                         client_kwargs=client_kwargs)
        self.judge = AreaJudge(settings.detection.congestion, partition,
                               settings.kafka.gps_partitions)
        self.last_offset = -1

    def on_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        if offset <= self.last_offset or value is None:
            return
        self.last_offset = offset
        self.since_checkpoint += 1
        decided, judgement = self.judge.on_progress(decode_progress(value))
        topics = self.settings.topics
        for emission in area_emissions(decided):
            self.hold(emission)
        if judgement is not None:
            # Every rider partition needs every judgement (exemptions look up any cell).
            encoded = encode_rider_record(judgement)
            for p in range(self.settings.kafka.gps_partitions):
                self.outputs.append((topics.rider_events, None, encoded, p))

    def commit_offset(self) -> int | None:
        return self.last_offset + 1 if self.last_offset >= 0 else None

    def state_records(self) -> list[tuple[bytes, bytes | None]]:
        return [(_META, dumps(versioned(_META_KIND, _META_VERSION, last_offset=self.last_offset,
                                        judge=self.judge.snapshot())))]

    def restore(self, state: dict[bytes, bytes]) -> None:
        meta = state.get(_META)
        if meta is not None:
            saved = fields(loads(meta), _META_KIND, _META_VERSION)
            self.judge = AreaJudge.restore(saved["judge"], self.settings.detection.congestion,
                                           self.partition, self.settings.kafka.gps_partitions)
            self.last_offset = saved["last_offset"]
