"""One partition of rider-profiles: validated records go to the serving layer, invalid ones to
dead-letters. Nothing reaches detection. Its offset commits only as far as the serving layer
has written, so a crash before Redis had a profile reads that profile again."""

from typing import Any

from schemas import DeadLetter, RiderProfile
from streams.config.settings import KnightwatchSettings
from streams.primitives.decode import decode_value
from streams.worker.serving import ServingWriter
from streams.worker.transactional import TransactionalPartition
from streams.worker.validation import dead_letter_output


class ProfilePartition(TransactionalPartition):
    stage = "profiles"

    def __init__(self, settings: KnightwatchSettings, partition: int,
                 client_kwargs: dict[str, Any], serving: ServingWriter) -> None:
        super().__init__(settings, source_topic=settings.topics.profiles, partition=partition,
                         state_topic=None, client_kwargs=client_kwargs)
        self.serving = serving
        self.last_offset = -1
        self._committed: int | None = None  # the offset the last checkpoint committed

    def on_record(self, offset: int, key: bytes | None, value: bytes | None,
                  timestamp_ms: int | None = None) -> None:
        if offset <= self.last_offset:
            return
        self.last_offset = offset
        self.since_checkpoint += 1
        text_key = None if key is None else key.decode("utf-8", "replace")
        raw = (value or b"").decode("utf-8", "replace")
        # A profile comes from the rider-management system, not a phone: no clock check.
        parsed = decode_value("profiles", self.source_topic, text_key, value or b"", raw)
        if isinstance(parsed, DeadLetter):
            self.outputs.append(dead_letter_output(self.settings, parsed))
            return
        assert isinstance(parsed, RiderProfile)
        self.serving.hand_over_profile(parsed, (self.partition, offset))

    def commit_offset(self) -> int | None:
        if self.last_offset < 0:
            return None
        unwritten = self.serving.unwritten_profile_offset(self.partition)
        return self.last_offset + 1 if unwritten is None else unwritten

    def due(self) -> bool:
        # Also once the serving layer has caught up, with no new record: the commit then
        # moves past what it wrote.
        if self.commit_offset() not in (None, self._committed):
            self.since_checkpoint = max(self.since_checkpoint, 1)
        return super().due()

    def state_records(self) -> list[tuple[bytes, bytes | None]]:
        return []

    def on_captured(self) -> None:
        self._committed = self.commit_offset()

    def restore(self, state: dict[bytes, bytes]) -> None:
        return None
