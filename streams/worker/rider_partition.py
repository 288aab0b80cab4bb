"""One rider partition: a detection core over the riders of one partition number. It consumes
two co-partitioned topics: `rider-gps` directly (keyed by rider, so GPS fixes cross Kafka
once), and the internal `rider-events` (order events, reviews and weather routed by the ingest
stage, congestion judgements, and the ingest stage's progress words).

Checkpoints hold each changed rider's snapshot (plain data, without the reorder buffer's
pending events), and the core's own snapshot (weather, congestion shares, clocks), so a
restarted worker rebuilds them with the settings it is started with. The committed offset of
each consumed topic is that of its oldest event still buffered, so a restart reads the
buffered events again instead of storing them; events up to the checkpoint that the state
already contains are recognised by event time and skipped. Until the restarted partition is
back at the checkpoint's offsets on both topics, its core releases nothing
(`KnightwatchCore.hold`): its restored clocks are those of the checkpoint, and releasing by them
would make re-read events that follow late.
"""

import heapq
import time
from collections.abc import Callable, Iterator
from typing import Any

from schemas import AlertReview, DeadLetter, GpsPing, OrderEvent, PointRedemption, WeatherEvent
from streams.area.judge import AreaJudgement, AreaProgress
from streams.config.settings import KnightwatchSettings
from streams.pipeline.clock import END_OF_TIME
from streams.pipeline.processor import KnightwatchCore, RiderState
from streams.pipeline.reorder import RiderBuffer
from streams.pipeline.rider import RiderPipeline
from streams.primitives.emissions import Emission
from streams.primitives.events import Ping
from streams.primitives.snapshot import dumps, fields, loads, versioned
from streams.primitives.zones import ZoneMap
from streams.serving.live import LiveRiders
from streams.serving.pending import Placing, ServedRider
from streams.worker.codec import (
    InputProgress,
    RiderRecord,
    decode_forwarded,
    encode_progress,
)
from streams.worker.evicted_store import EvictedRiders
from streams.worker.input_position import (
    PolledAt,
    StartPosition,
    next_to_read,
    read_all,
    word_sent_ms,
)
from streams.worker.partitioning import partition_for
from streams.worker.transactional import TransactionalPartition, contract_output
from streams.worker.validation import read_input

_META = b"meta"
_META_KIND = "worker.rider_partition"
_META_VERSION = 3
_RIDER = b"rider:"
# Dead letters the core writes when a record arrives, as opposed to when it is processed.
_ON_ARRIVAL = ("late:", "clock ahead:")
Source = tuple[str, int]  # topic, partition
# The two consumed topics, by role: checkpoints name them so, not by topic name.
_EVENTS, _GPS = "events", "gps"


def _from_v2(data: dict) -> dict:
    """Version 2 did not record how far each input partition's forwarded records were read:
    a record an input's new owner forwards again is not recognised until the next one."""
    return {**data, "forwarded": [], "v": 3}


def _from_v1(data: dict) -> dict:
    """Version 1 consumed rider-events only (GPS came through the ingest stage): its offset
    is the events topic's, re-read from wherever the group's commit stands."""
    data = dict(data)
    data["last_offsets"] = {_EVENTS: data.pop("last_offset")}
    data["commits"] = {_EVENTS: 0}
    data["v"] = 2
    return data


class RiderPartition(TransactionalPartition):
    stage = "riders"

    def __init__(self, settings: KnightwatchSettings, zones: ZoneMap | None, partition: int,
                 client_kwargs: dict[str, Any],
                 gps_highwater: Callable[[], int | None] = lambda: None,
                 gps_position: StartPosition | None = None,
                 gps_polled_at: PolledAt | None = None) -> None:
        """`gps_highwater`: the rider-gps partition's end offset as of the consumer's last
        fetch; `gps_position`: where this owner starts reading it, asked while it has read no
        fix; `gps_polled_at`: when that fetch was."""
        k = settings.kafka
        super().__init__(settings, source_topic=settings.topics.rider_events,
                         partition=partition, state_topic=settings.topics.rider_state,
                         client_kwargs=client_kwargs)
        self.zones = zones
        # Riders evicted from memory wait on disk (their snapshots are in the changelog too).
        self.core = KnightwatchCore(settings.detection, zones, area_source=partition,
                                    area_judges=k.area_partitions, track_changes=True,
                                    evicted=EvictedRiders())
        self.core.clock.input_cap = -END_OF_TIME  # nothing is known to be delivered yet
        t = settings.topics
        self.topics: dict[str, Source] = {_EVENTS: (t.rider_events, partition),
                                          _GPS: (t.gps, partition)}
        self.sources = {(t.gps, partition)} | {
            (topic, i) for topic in (t.orders, t.reviews, t.weather, t.redemptions)
            for i in range(k.partitions)}
        self.progress: dict[Source, int] = {}
        self._source_topics = {GpsPing: t.gps, Ping: t.gps, OrderEvent: t.orders,
                               AlertReview: t.reviews, PointRedemption: t.redemptions,
                               WeatherEvent: t.weather}
        self.restored: list[ServedRider] = []  # what the serving layer holds of them
        # Positions and order steps as they arrive, for the serving layer (drained by the
        # owner after every batch).
        self.live = LiveRiders()
        self.last_offsets = {_EVENTS: -1, _GPS: -1}
        # Per consumed topic, the last offset read before the restart, while it is re-read.
        self.rereading: dict[str, int] = {}
        # Per consumed topic, (offset, rider, ts) of the events that may still be buffered.
        self._buffered: dict[str, list[tuple[int, str, int]]] = {_EVENTS: [], _GPS: []}
        self._offsets_recorded: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._idle_s = settings.kafka.idle_after_s
        self.gps_highwater = gps_highwater
        self.gps_position = gps_position
        self.gps_polled_at = gps_polled_at
        self._gps_max_ts = -END_OF_TIME
        # When the last input record was read (or event time last ran on), and when each input
        # source last said it was caught up (its own wall clock): idleness needs both.
        self.monotonic: Callable[[], float] = time.monotonic  # replaceable in tests
        self._last_read = self.monotonic()
        self._caught_up_at: dict[Source, int] = {}
        self._newest_word_ms = -END_OF_TIME
        # Per input partition behind the ingest stage, the offset of the last record of it
        # read here: what a new owner of it forwards again from the group's commit is not
        # processed twice (nor, coming long after, dead-lettered as late).
        self._forwarded: dict[Source, int] = {}
        # The newest fix's Kafka timestamp (when it was written), up to this worker's clock.
        self._gps_written_ms = -END_OF_TIME
        # Once a fix written after this is read, some caught-up word no longer covers it.
        self._recap_after_ms = END_OF_TIME
        self.wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)  # for tests
        self._caught_up_valid_ms = int(k.caught_up_valid_s * 1000)
        self._meta_dirty = False

    # -- processing --------------------------------------------------------------------

    def on_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        """A record of the internal rider-events topic."""
        if offset <= self.last_offsets[_EVENTS]:
            return  # redelivered within this run
        self.last_offsets[_EVENTS] = offset
        reread = self._rereads(_EVENTS, offset)
        if value is None:
            self._hold(self._after(_EVENTS, offset, reread, []))
            return
        record, source = decode_forwarded(value)
        if source is not None:
            input_partition = (self._source_topics[type(record)], source[0])
            last = self._forwarded.get(input_partition, -1)
            # Not while re-reading what the checkpoint still buffered: those were read before
            # and are wanted again.
            if source[1] <= last and not reread:
                self.core.stats.duplicates += 1
                self._hold(self._after(_EVENTS, offset, reread, []))
                return
            self._forwarded[input_partition] = max(last, source[1])
        if isinstance(record, OrderEvent) and not reread:
            self.live.on_order(record)
        if isinstance(record, InputProgress) and self._repeats(record):
            # An input saying again what it said (as caught-up inputs do for idleness) changes
            # no state: its offset goes with the next checkpoint, which it does not hasten.
            emissions = self._on_progress(record)
        else:
            self.since_checkpoint += 1
            self._meta_dirty = True
            emissions = self._process(_EVENTS, offset, record)
        self._hold(self._after(_EVENTS, offset, reread, emissions))

    def on_gps(self, offset: int, key: bytes | None, value: bytes | None,
               timestamp_ms: int | None) -> None:
        """A record of rider-gps, as the phone (or the gateway) wrote it: validated here, as
        the ingest stage validates the other inputs (validation.read_input)."""
        if offset <= self.last_offsets[_GPS]:
            return
        self.last_offsets[_GPS] = offset
        reread = self._rereads(_GPS, offset)
        self.since_checkpoint += 1
        self._meta_dirty = True
        topic = self.topics[_GPS][0]
        parsed = read_input(self.settings, "gps", topic, key, value, timestamp_ms)
        if isinstance(parsed, DeadLetter):
            if not reread:  # said when it was first read
                self.hold_dead_letter(parsed)
            self._hold(self._after(_GPS, offset, reread, []))
            return
        self._gps_max_ts = max(self._gps_max_ts, parsed.ts)  # type: ignore[attr-defined]
        if not reread:
            self.live.on_fix(parsed)  # type: ignore[arg-type]
        if timestamp_ms is not None and timestamp_ms > self._gps_written_ms:
            self._on_gps_written(timestamp_ms)
        emissions = self._process(_GPS, offset, parsed)  # type: ignore[arg-type]
        self._hold(self._after(_GPS, offset, reread, emissions))

    async def refresh_gps_progress(self, wall_ms: int) -> None:
        """Say, as the ingest stage says of the other inputs, how far rider-gps is read: up to
        its latest fix's time, or all of it when the consumer has reached its end."""
        read_to = await next_to_read(self.last_offsets[_GPS], self.gps_position)
        if read_to is not None:  # else no longer assigned: say nothing new
            self.on_gps_progress(read_to, wall_ms)

    def on_gps_progress(self, read_to: int, wall_ms: int) -> None:
        """rider-gps is read up to `read_to` (the next offset to read)."""
        topic, partition = self.topics[_GPS]
        caught_up = read_all(read_to, self.gps_highwater())
        sent_ms = word_sent_ms(caught_up, self.gps_polled_at, wall_ms)
        word = InputProgress(topic, partition, self._gps_max_ts, caught_up, sent_ms)
        if not self._repeats(word):
            self.since_checkpoint += 1
            self._meta_dirty = True
        self._hold(self._on_progress(word, own=True))

    def _on_gps_written(self, timestamp_ms: int) -> None:
        """A fix written at `timestamp_ms` is read. Caught-up words from longer than
        `caught_up_valid_s` before it no longer let event time pass their input: the input may
        have records written before this fix that are still on their way (its owner killed,
        the broker frozen). Checked before the fix moves event time."""
        # A writer's clock ahead of this worker's must not age every word at once.
        self._gps_written_ms = min(timestamp_ms, self.wall_ms())
        if self._gps_written_ms > self._recap_after_ms and len(self.progress) == len(self.sources):
            self._hold(self._recap())

    def served_state(self) -> list[ServedRider]:
        """What the serving layer holds of this partition's riders, in memory or evicted: each
        one's latest delta (as its output record), points balance and city."""
        topics = self.settings.topics
        served = []
        for rider_id, pipeline in self._pipelines():
            last = pipeline.score.last_delta
            delta = None if last is None else contract_output(
                Emission("deltas", rider_id, last), topics)
            balance = None if pipeline.points.untouched() else pipeline.points.balance
            if delta is not None or balance is not None:
                standing = pipeline.standing(self.core.clock.area_time, self.settings.detection)
                served.append(ServedRider(rider_id, delta, balance,
                                          Placing(standing.city, standing.eligible)))
        return served

    def _pipelines(self) -> Iterator[tuple[str, RiderPipeline]]:
        for rider_id, rider in self.core.riders.items():
            yield rider_id, rider.pipeline
        for rider_id in list(self.core.evicted):
            snapshot = self.core.rider_snapshot(rider_id)
            if snapshot is not None:
                yield rider_id, RiderState.restore(snapshot).pipeline

    def placing_of(self, rider_id: str) -> Placing | None:
        """The rider's city and role-model eligibility (in memory or evicted) at the event
        time this partition's final records stand at."""
        standing = self.core.standing(rider_id, self.core.clock.area_time)
        return None if standing is None else Placing(standing.city, standing.eligible)

    def _rereads(self, role: str, offset: int) -> bool:
        """Whether the record at `offset` was read before the restart. The first record past
        that point ends the re-read of its topic (there was nothing more to read again)."""
        until = self.rereading.get(role)
        if until is None:
            return False
        if offset <= until:
            return True
        self._end_reread(role)
        return False

    def _end_reread(self, role: str) -> None:
        del self.rereading[role]
        if not self.rereading:
            self._hold(self.core.resume())  # every re-read event is back

    def _after(self, role: str, offset: int, reread: bool,
               emissions: list[Emission]) -> list[Emission]:
        if not reread:
            return emissions
        # Already seen before the restart: what it said on arrival (late, clock ahead) was
        # said then. What it releases from the buffer (an order event's lifecycle) was not.
        emissions = [e for e in emissions if e.stream != "dead_letters"
                     or not e.value.error.startswith(_ON_ARRIVAL)]  # type: ignore[attr-defined]
        if offset >= self.rereading[role]:
            self._hold(emissions)
            self._end_reread(role)
            return []
        return emissions

    def _process(self, role: str, offset: int, record: RiderRecord) -> list[Emission]:
        if isinstance(record, InputProgress):
            emissions = self._on_progress(record)
        elif isinstance(record, AreaJudgement):
            emissions = self.core.on_judgement(record)
        else:
            self._last_read = self.monotonic()
            # The input topic the record came from, for the dead letters of it.
            source = self._source_topics[type(record)]
            emissions = self.core.ingest(record, source_topic=source)  # type: ignore[arg-type]
            if isinstance(record, Ping | GpsPing | OrderEvent | AlertReview | PointRedemption):
                heapq.heappush(self._buffered[role], (offset, record.rider_id, record.ts))
            if self.since_checkpoint % 256 == 0:
                emissions += self.core.advance()
        return emissions

    def on_idle(self, now: float, wall_ms: int) -> bool:
        """Called on a timer (`now`: the monotonic clock, `wall_ms`: the wall clock). Idle means
        no input record for `idle_after_s`, and every input source's latest word, sent within
        half of that, saying it is caught up: event time then runs on to the wall clock, so
        what waits for later records is released and closed. Returns whether it ran on.

        The words come in order with the records, so a fresh one from every input means
        everything they had read is already here. An input whose owner died, or a frozen
        broker, sends none, and an old word, however good, would make what follows late; so
        caught-up inputs repeat it every quarter of `caught_up_valid_s` (IngestPartition)."""
        if not self._idle_s or now - self._last_read < self._idle_s or self.core.holding:
            return False
        fresh = wall_ms - int(self._idle_s * 500)
        if any(self._caught_up_at.get(source, -1) < fresh for source in self.sources):
            return False
        self._last_read = now  # once per idle period, not on every tick
        # Every input said just now that it has caught up: nothing holds event time back,
        # whatever the last word's count of fresh inputs left the cap at.
        emissions = self.core.set_input_cap(END_OF_TIME) + self.core.run_on_to(wall_ms)
        self._meta_dirty = True
        self.since_checkpoint += 1  # the clock moved: a checkpoint is due
        self._hold(emissions)
        return True

    def _repeats(self, record: InputProgress) -> bool:
        source = (record.topic, record.partition)
        return (source in self.progress and record.until_ts <= self.progress[source]
                and record.caught_up == (source in self._caught_up_at)
                and len(self.progress) == len(self.sources))

    def _on_progress(self, record: InputProgress, own: bool = False) -> list[Emission]:
        """An input's word: everything up to `until_ts` is delivered, and whether it has read
        all of its topic. The input cap is the least of the inputs' `until_ts`, leaving out
        those that said lately that they have caught up: lately meaning within
        `caught_up_valid_s` of the newest word from another input, and of when the newest fix
        read was written, so that an input fallen silent (its owner dead, its broker frozen)
        holds back event time again."""
        source = (record.topic, record.partition)
        if source not in self.sources:
            return []
        if record.caught_up:
            self._caught_up_at[source] = record.sent_ms
        else:
            self._caught_up_at.pop(source, None)
        if not own:
            # Measured against words that came the way the others come (through Kafka, after
            # their commits), not this partition's own word on rider-gps: a delay every input
            # shares, as under load, then ages none of them.
            self._newest_word_ms = max(self._newest_word_ms, record.sent_ms)
        self.progress[source] = max(record.until_ts, self.progress.get(source, -END_OF_TIME))
        if len(self.progress) < len(self.sources):
            return []
        return self._recap()

    def _recap(self) -> list[Emission]:
        """Set the input cap from the inputs' words (see _on_progress)."""
        valid = self._caught_up_valid_ms
        fresh = max(self._newest_word_ms, self._gps_written_ms) - valid
        counted = [sent for sent in self._caught_up_at.values() if sent >= fresh]
        self._recap_after_ms = min(counted, default=END_OF_TIME - valid) + valid
        caught_up = self._caught_up_at
        cap = min(END_OF_TIME if caught_up.get(source, fresh - 1) >= fresh else until
                  for source, until in self.progress.items())
        before = self.core.clock.input_cap
        emissions = self.core.set_input_cap(cap)
        if self.core.clock.input_cap != before:  # the clock moved: a checkpoint is due
            self.since_checkpoint += 1
            self._meta_dirty = True
        return emissions

    def _hold(self, emissions: list[Emission]) -> None:
        judges = self.settings.kafka.area_partitions
        for e in emissions:
            if e.stream == "area_progress":
                self._hold_progress(e.value, judges)  # type: ignore[arg-type]
            else:
                self.hold(e)
                # A reminder the rider should hear now is committed at once, not at the next
                # interval; alerts are rare beside fixes, so this adds few transactions.
                if e.stream == "alerts" and e.value.realtime:  # type: ignore[attr-defined]
                    self.urgent = True

    def _hold_progress(self, progress: AreaProgress, judges: int) -> None:
        by_judge: dict[int, list] = {j: [] for j in range(judges)}
        for part in progress.partials:
            by_judge[partition_for(part.cell, judges)].append(part)
        topic = self.settings.topics.area_progress
        for judge, parts in by_judge.items():
            message = AreaProgress(progress.source, progress.until_ts, tuple(parts))
            self.outputs.append((topic, None, encode_progress(message), judge))

    # -- checkpoints -------------------------------------------------------------------

    def due(self) -> bool:
        # Not while re-reading what the last checkpoint had already read: the state then
        # stands for no offset of the input.
        return not self.rereading and super().due()

    def commit_offset(self) -> int | None:
        return self.commit_offsets().get(self.topics[_EVENTS])

    def commit_offsets(self) -> dict[tuple[str, int], int]:
        return {self.topics[role]: offset for role, offset in self._next_offsets().items()}

    def _next_offsets(self) -> dict[str, int]:
        """Per consumed topic read so far, the offset of its oldest event still buffered, or
        the one after the last read."""
        riders = self.core.riders
        offsets = {}
        for role, last in self.last_offsets.items():
            if last < 0:
                continue
            buffered = self._buffered[role]
            offsets[role] = last + 1
            while buffered:
                _, rider_id, ts = buffered[0]
                state = riders.get(rider_id)
                until = None if state is None else state.buffer.released_until
                if state is not None and (until is None or ts >= until):
                    offsets[role] = buffered[0][0]
                    break
                heapq.heappop(buffered)
        return offsets

    def state_records(self) -> list[tuple[bytes, bytes | None]]:
        records = []
        self._dirty |= self.core.touched
        self.core.touched = set()
        for rider_id in sorted(self._dirty):
            snapshot = self.core.rider_snapshot(rider_id)  # in memory or evicted
            # None: a rider forgotten when evicted (nothing durable): a tombstone, so that the
            # compacted state topic forgets them too.
            records.append((_RIDER + rider_id.encode(),
                            None if snapshot is None else dumps(snapshot)))
        commits = self._next_offsets()
        if self._meta_dirty or commits != self._offsets_recorded:
            progress = [[topic, part, until] for (topic, part), until in
                        sorted(self.progress.items())]
            # With the offsets this checkpoint commits: a restart then knows, per topic,
            # whether there is anything to read again before it may release events.
            caught_up = [[topic, part, sent] for (topic, part), sent in
                         sorted(self._caught_up_at.items())]
            records.append((_META, dumps(versioned(
                _META_KIND, _META_VERSION, last_offsets=dict(self.last_offsets),
                commits=commits, progress=progress, caught_up=caught_up,
                newest_word_ms=self._newest_word_ms,
                forwarded=[[topic, part, offset] for (topic, part), offset
                           in sorted(self._forwarded.items())],
                core=self.core.snapshot()))))
            self._offsets_recorded = commits
        return records

    def on_captured(self) -> None:
        self._dirty.clear()
        self._meta_dirty = False

    async def stop(self) -> None:
        await super().stop()
        evicted = self.core.evicted
        if isinstance(evicted, EvictedRiders):
            evicted.close()

    def restore(self, state: dict[bytes, bytes]) -> None:
        meta = state.get(_META)
        if meta is None:
            return
        saved = fields(loads(meta), _META_KIND, _META_VERSION,
                       migrations={1: _from_v1, 2: _from_v2})
        k = self.settings.kafka
        riders = {key[len(_RIDER):].decode(): loads(value)
                  for key, value in state.items() if key.startswith(_RIDER)}
        evicted = self.core.evicted
        evicted.clear()
        core = KnightwatchCore.restore(saved["core"], riders, self.settings.detection,
                                       self.zones, area_source=self.partition,
                                       area_judges=k.area_partitions, track_changes=True,
                                       evicted=evicted)
        self.core = core
        # The serving layer is written after commits; a crash between the two loses a write,
        # so whoever restores the partition writes every restored score and balance again.
        self.restored = self.served_state()
        # Delivered-up-to marks only: a checkpoint of an older version may hold "everything"
        # for a caught-up input, which it must say again, lately, to count as such.
        self.progress = {(topic, part): until for topic, part, until in saved["progress"]
                         if until < END_OF_TIME}
        # When each input last said it had caught up, by its clock, as the newest word did:
        # a word after the restart tells whether those are still fresh.
        self._caught_up_at = {(topic, part): sent
                              for topic, part, sent in saved.get("caught_up", [])}
        self._newest_word_ms = saved.get("newest_word_ms", -END_OF_TIME)
        self._recap_after_ms = -END_OF_TIME  # the first fix read checks the restored words
        self._forwarded = {(topic, part): offset for topic, part, offset in saved["forwarded"]}
        # Each topic is read again from its oldest event that was still buffered, up to what
        # had been read; until both are back there, the core releases nothing.
        self.rereading = {role: until for role, until in saved["last_offsets"].items()
                          if until >= 0 and saved["commits"].get(role, until + 1) <= until}
        if self.rereading:
            core.hold()


__all__ = ["RiderBuffer", "RiderPartition"]
