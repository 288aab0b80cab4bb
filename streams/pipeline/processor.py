"""The detection core: typed events in, emissions out. No I/O; the same object serves the
replay command, the Kafka workers and the tests."""

import dataclasses
import heapq
import zlib
from collections import Counter
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Self

from schemas import AlertReview, GpsPing, OrderEvent, PointRedemption, WeatherEvent
from streams.area.congestion import CongestionMap
from streams.area.judge import AreaJudgement, AreaProgress
from streams.area.weather import WeatherBook
from streams.config.thresholds import DetectionSettings
from streams.detectors.base import RiderContext
from streams.pipeline.clock import END_OF_TIME, EventClock
from streams.pipeline.live import LivePath
from streams.pipeline.reorder import RiderBuffer, RiderEvent
from streams.pipeline.rider import RiderPipeline
from streams.primitives.decode import dead_letter
from streams.primitives.emissions import Emission, area_emissions
from streams.primitives.events import HEARTBEAT_PREFIX, Ping
from streams.primitives.gcj02 import gcj02_to_wgs84
from streams.primitives.snapshot import Snapshot, dumps, fields, loads, versioned
from streams.primitives.zones import ZoneMap
from streams.scoring.role_models import RiderStanding

# A GPS record arrives as the contract's GpsPing or, from the fast decoder, already as a Ping.
InputEvent = GpsPing | Ping | OrderEvent | WeatherEvent | AlertReview | PointRedemption


@dataclass
class CoreStats:
    events: int = 0
    duplicates: int = 0
    late: int = 0
    rejected: int = 0  # dead-lettered by the core for another reason (a clock ahead)
    # Records that took effect: fixes, order events and reviews processed in event-time
    # order (less those their order's lifecycle refused), weather reports, heartbeats.
    processed: int = 0
    emitted: Counter = field(default_factory=Counter)
    alerts_by_kind: Counter = field(default_factory=Counter)


RIDER_KIND = "pipeline.rider_state"
RIDER_VERSION = 2
CORE_KIND = "pipeline.core"
CORE_VERSION = 1


def _rider_v1_to_v2(v1: Snapshot) -> Snapshot:
    """Version 1 had no real-time path. Start one where the event-time path stands, so that
    nothing it already processed is reminded of again."""
    live = LivePath()
    live.detectors = RiderPipeline.restore(v1["pipeline"]).detectors
    live.last_ts = v1["buffer"]["last_ts"]
    return {**v1, "v": 2, "live": live.snapshot()}


RIDER_MIGRATIONS = {1: _rider_v1_to_v2}


@dataclass(slots=True)
class RiderState:
    buffer: RiderBuffer  # the event-time path: reorder buffer ...
    pipeline: RiderPipeline  # ... and what it feeds, in event-time order
    live: LivePath  # the real-time path
    scheduled_ts: int | None = None  # key of its entry in the idle-release queue
    quiet_check: bool = False  # has an entry in the quiet-rider queue

    def snapshot(self) -> Snapshot:
        return versioned(RIDER_KIND, RIDER_VERSION, buffer=self.buffer.snapshot(),
                         pipeline=self.pipeline.snapshot(), live=self.live.snapshot())

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, RIDER_KIND, RIDER_VERSION, RIDER_MIGRATIONS)
        return cls(RiderBuffer.restore(values["buffer"]),
                   RiderPipeline.restore(values["pipeline"]), LivePath.restore(values["live"]))


class KnightwatchCore:
    """Per rider: reorder, detect, score. Per area: weather and congestion. Per order: decide.

    Two paths per rider. The real-time path sees each fix the moment it arrives in order and
    sends the reminders it meets at once. The event-time path puts every record within the
    allowed lateness in order (see EventClock for when) and decides what is final: score,
    decisions, subsidies, area risk, and the alerts the real-time path missed.
    """

    def __init__(self, settings: DetectionSettings | None = None,
                 zones: ZoneMap | None = None, *, area_source: int | None = None,
                 area_judges: int = 1, track_changes: bool = False,
                 evicted: MutableMapping[str, bytes] | None = None) -> None:
        """`area_source`: this core is one partition of a fleet (numbered so) and hands its
        congestion shares to `area_judges` judges instead of judging them itself.
        `track_changes`: keep `touched`, the riders changed since its owner last drained it.
        `evicted`: where riders evicted from memory are kept (default: a dict, in memory)."""
        self.settings = settings or DetectionSettings()
        self._gcj02_input = self.settings.gps.input_frame == "gcj02"
        self.zones = zones or ZoneMap.empty()
        self.weather = WeatherBook(self.settings.weather)
        self.congestion = CongestionMap(self.settings.congestion)
        self.riders: dict[str, RiderState] = {}
        self.stats = CoreStats()
        self.clock = EventClock(self.settings.timing)
        self._dup_ms = int(self.settings.timing.duplicate_memory_s * 1000)
        self._quiet_gap_ms = max(int(self.settings.timing.idle_release_s * 1000), 60_000,
                                 int(2 * self.settings.speeding.max_gap_s * 1000))
        # An order is decided once everything that could still bear on it is settled: its
        # congestion window and any speeding episode still open at delivery.
        sp = self.settings.speeding
        self._settle_ms = int(max(self.settings.congestion.window_s,
                                  sp.max_episode_s + sp.max_gap_s) * 1000)
        self._waiting: list[tuple[int, str]] = []  # (buffered event ts, rider) for idle release
        self._deciding: list[tuple[int, str]] = []  # (delivery ts, rider) awaiting decisions
        self._quiet: list[tuple[int, str]] = []  # (last processed ts, rider)
        self._idle: list[tuple[int, str]] = []  # (last processed ts, rider) to evict
        self._evict_ms = int(self.settings.timing.evict_after_s * 1000)
        self._order_memory_ms = int(self.settings.orders.max_age_s * 1000)
        # Riders out of memory with something worth keeping: their snapshots, compressed (a
        # few hundred bytes each). A worker keeps them on disk.
        self.evicted: MutableMapping[str, bytes] = {} if evicted is None else evicted
        self._contexts: dict[str, RiderContext] = {}
        # Riders whose state changed since the owner last drained this (a worker's checkpoints),
        # kept only for an owner that drains it: otherwise it would hold every id ever seen.
        self.touched: set[str] = set()
        self.track_changes = track_changes
        self.area_source = area_source
        self._judges = area_judges
        self._judged: dict[int, int] = {}  # judge -> judged until
        # The input topic order events come from, as the owner names it: a lifecycle dead
        # letter is written when the event is processed, long after its record was read.
        self._orders_topic = ""
        # Set while an owner re-reads records it had read before its last checkpoint (see
        # `hold`): nothing is released until they are all back in the buffers.
        self.holding = False

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The core's own state; each rider's is `riders[id].snapshot()`, kept apart so that
        an owner can save only the riders that changed."""
        return versioned(CORE_KIND, CORE_VERSION, clock=self.clock.snapshot(),
                         weather=self.weather.snapshot(), congestion=self.congestion.snapshot(),
                         judged=[[j, until] for j, until in sorted(self._judged.items())])

    @classmethod
    def restore(cls, data: Snapshot, riders: Mapping[str, Snapshot],
                settings: DetectionSettings | None = None, zones: ZoneMap | None = None, *,
                area_source: int | None = None, area_judges: int = 1,
                track_changes: bool = False,
                evicted: MutableMapping[str, bytes] | None = None) -> Self:
        """Rebuild a core from its snapshot and its riders', with the settings given now."""
        values = fields(data, CORE_KIND, CORE_VERSION)
        core = cls(settings, zones, area_source=area_source, area_judges=area_judges,
                   track_changes=track_changes, evicted=evicted)
        cfg = core.settings
        core.clock = EventClock.restore(values["clock"], cfg.timing)
        core.weather = WeatherBook.restore(values["weather"], cfg.weather)
        core.congestion = CongestionMap.restore(values["congestion"], cfg.congestion)
        core._judged = {j: until for j, until in values["judged"]}
        for rider_id, snapshot in riders.items():
            state = core.riders[rider_id] = RiderState.restore(snapshot)
            if state.buffer.last_ts is not None:
                state.quiet_check = True
                heapq.heappush(core._quiet, (state.buffer.last_ts, rider_id))
            for order in state.pipeline.delivered:
                heapq.heappush(core._deciding, (order.delivered_ts, rider_id))
            for redemption in state.pipeline.redemptions:
                heapq.heappush(core._deciding, (redemption.ts, rider_id))
            for day_end in state.pipeline.days.pending_ends():
                heapq.heappush(core._deciding, (day_end, rider_id))
        return core

    # -- input -----------------------------------------------------------------------------

    def ingest(self, event: InputEvent, source_topic: str = "",
               arrival_ts: int | None = None) -> list[Emission]:
        """`source_topic`: the input topic the record came from, for its dead letters.
        `arrival_ts`: when the record arrived (the Kafka record's timestamp), if known."""
        self.stats.events += 1
        kind = type(event)
        is_fix = kind is GpsPing or kind is Ping
        if is_fix and event.rider_id.startswith(HEARTBEAT_PREFIX):  # type: ignore[union-attr]
            self.stats.processed += 1
            return self.run_on_to(event.ts)
        # Weather comes from a trusted service, whose warnings may be issued ahead of time.
        ahead = None if kind is WeatherEvent else self.clock.ahead_of_arrival(event.ts,
                                                                               arrival_ts)
        if ahead is not None:
            self.stats.rejected += 1
            return [self._dead(event, source_topic, ahead)]
        if event.ts < self.clock.area_time:
            self.stats.late += 1
            return [self._late(event, source_topic, self.clock.area_time)]
        if is_fix:
            self.clock.observe(event.ts)
            if kind is GpsPing:
                event = Ping.of(event)  # type: ignore[arg-type]
            if self._gcj02_input:
                event = _to_wgs84(event)  # type: ignore[arg-type]
        elif kind is WeatherEvent:
            if self.weather.add(event):
                self.stats.processed += 1
            else:
                self.stats.duplicates += 1
            return []
        if kind is OrderEvent and source_topic:
            self._orders_topic = source_topic
        out = self._on_rider_event(event, source_topic)  # type: ignore[arg-type]
        if is_fix and self.area_source is None:
            # An area rule is met by the fix that makes its window final: judge it then.
            window_end = self.congestion.next_window_end()
            area_time = self.clock.next_area_time()
            if window_end is not None and area_time is not None and area_time >= window_end:
                out += self.advance()
        return out

    def run_on_to(self, ts: int) -> list[Emission]:
        """Let event time run on to `ts`: a gateway's heartbeat, or the wall clock when the
        owner's input is idle; what waits for later records is released and closed."""
        self.clock.observe(ts, trusted=True)
        return self.advance()

    def advance(self) -> list[Emission]:
        """Move the area clock to the stream's event time less lateness and idle wait: process
        riders who went quiet, judge congestion windows, decide settled orders."""
        clock = self.clock.next_area_time()
        if clock is None or self.holding:
            return []
        self.clock.area_time = clock
        out = self._release_waiting(clock, by_rider_clock=False)
        out += self._close_quiet(clock)
        # Orders still to be decided look weather up back to their acceptance.
        pending = self._deciding[0][0] if self._deciding else clock
        self.weather.forget_before(min(clock, pending))
        self.congestion.forget_before(min(clock, pending))
        out += self._settle_area(clock, clock - self._settle_ms)
        self._evict_idle(clock - self._evict_ms)
        return out

    def _evict_idle(self, before: int) -> None:
        """Riders closed as quiet and still idle since before `before` leave memory."""
        idle = self._idle
        gone = 0
        while idle and idle[0][0] < before:
            ts, rider_id = heapq.heappop(idle)
            state = self.riders.get(rider_id)
            if state is None or state.buffer.last_ts != ts or len(state.buffer) \
                    or state.pipeline.delivered or state.quiet_check:
                continue  # active again (a newer entry exists) or still owed something
            if self._worth_keeping(state):
                self.evicted[rider_id] = zlib.compress(dumps(state.snapshot()))
            del self.riders[rider_id]
            self._contexts.pop(rider_id, None)
            gone += 1
        if gone > 1024 and gone > len(self.riders):
            # A dict keeps its table when emptied: copy the two per-rider maps to size.
            self.riders = dict(self.riders)
            self._contexts = dict(self._contexts)

    def _worth_keeping(self, state: RiderState) -> bool:
        """Does a quiet rider's state hold anything a fresh one would not, once everything
        short-lived (histories, cooldowns, episodes) has run out? A rider seen once, or who
        never lost or earned a point, is forgotten rather than kept: a phone that invents an
        id per record must not fill memory."""
        pipeline = state.pipeline
        return not (pipeline.score.untouched(self.settings.scoring)
                    and pipeline.points.untouched() and not pipeline.redemptions
                    and not pipeline.orders.active and not pipeline.delivered
                    and pipeline.days.untouched()
                    and pipeline.detectors.get("fatigue").riding_ms_today == 0)

    def rider_snapshot(self, rider_id: str) -> Snapshot | None:
        """A rider's snapshot, in memory or evicted."""
        state = self.riders.get(rider_id)
        if state is not None:
            return state.snapshot()
        saved = self.evicted.get(rider_id)
        return None if saved is None else loads(zlib.decompress(saved))

    def _settle_area(self, until: int, decide_until: int) -> list[Emission]:
        """Judge (or, in a fleet, hand over) congestion windows ending by `until`, then decide
        the orders settled by `decide_until` (in a fleet, no later than the judges got)."""
        if self.area_source is None:
            out = self._count(area_emissions(self.congestion.finalize(until)))
            return out + self._decide(decide_until)
        partials = tuple(self.congestion.take_final(until))
        out = [Emission("area_progress", None,
                        AreaProgress(self.area_source, until, partials))]  # type: ignore[arg-type]
        return out + self._decide(min(decide_until, self.judged_until() - self._settle_ms))

    def set_input_cap(self, cap: int) -> list[Emission]:
        """Fleet mode: the slowest input source has delivered everything up to `cap` (less the
        lateness). Until then no clock passes it: a topic consumed behind the GPS topic, as
        after a restart, cannot make its records late. The cap may also come down (an input
        that had caught up fell silent): that releases nothing and undoes nothing released,
        it only stops the clocks from going further."""
        raised = cap > self.clock.input_cap
        self.clock.input_cap = cap
        return self._release_to_input_cap() if raised and not self.holding else []

    def hold(self) -> None:
        """Restored from a checkpoint whose buffered events are re-read from the input: take
        them back without releasing anything. The restored clocks stand where they stood at
        the checkpoint, later than when these events first arrived, so releasing by them
        before every re-read event is back would make the later ones late."""
        self.holding = True

    def resume(self) -> list[Emission]:
        """Every event buffered at the checkpoint is back: release what the clocks allow."""
        self.holding = False
        return self._release_to_input_cap()

    def _release_to_input_cap(self) -> list[Emission]:
        """Each rider's buffer as far as its own clock and the input cap allow, then the area."""
        out = self._release_waiting(self.clock.input_cap - self.clock.lateness_ms,
                                    by_rider_clock=True)
        return out + self.advance()

    def judged_until(self) -> int:
        if len(self._judged) < self._judges:
            return -END_OF_TIME
        return min(self._judged.values())

    def on_judgement(self, judgement: AreaJudgement) -> list[Emission]:
        """Congestion judged elsewhere (fleet mode): remember it and decide settled orders."""
        for window in judgement.congested:
            self.congestion.record_congested(window)
        if judgement.until_ts > self._judged.get(judgement.judge, -END_OF_TIME):
            self._judged[judgement.judge] = judgement.until_ts
        return self._decide(min(self.clock.area_time, self.judged_until()) - self._settle_ms)

    def close(self) -> list[Emission]:
        """End of input: close every open window and episode as if event time moved past it."""
        out: list[Emission] = []
        for rider_id in sorted(self.riders):
            state = self.riders[rider_id]
            ctx = self._context(rider_id)
            events = state.buffer.release(END_OF_TIME, self._dup_ms)
            out.extend(self._process(state, events, ctx))
            out.extend(self._final(state, state.pipeline.close(ctx)))
            state.scheduled_ts = None
            state.quiet_check = False
        self._waiting.clear()
        self._quiet.clear()
        self.clock.area_time = END_OF_TIME
        return out + self._settle_area(END_OF_TIME, END_OF_TIME)

    # -- riders ----------------------------------------------------------------------------

    def _on_rider_event(self, event: RiderEvent, source_topic: str) -> list[Emission]:
        rider_id = event.rider_id
        if self.track_changes:
            self.touched.add(rider_id)
        state = self.riders.get(rider_id)
        ctx = self._context(rider_id)
        if state is None:
            saved = self.evicted.pop(rider_id, None)
            state = self.riders[rider_id] = (
                RiderState(RiderBuffer(), RiderPipeline(ctx), LivePath()) if saved is None
                else RiderState.restore(loads(zlib.decompress(saved))))
        outcome = state.buffer.add(event)
        if outcome == "duplicate":
            self.stats.duplicates += 1
            return []
        if outcome == "late":
            self.stats.late += 1
            return [self._late(event, source_topic, state.buffer.released_until)]
        out = self._live(state, event, ctx)
        if state.scheduled_ts is None or event.ts < state.scheduled_ts:
            state.scheduled_ts = event.ts
            heapq.heappush(self._waiting, (event.ts, rider_id))
        if state.buffer.max_ts is None or self.holding:
            return out
        release_before = self.clock.rider_final_before(state.buffer.max_ts)
        if state.buffer.earliest_ts() < release_before:  # type: ignore[operator]
            events = state.buffer.release(release_before, self._dup_ms)
            out.extend(self._process(state, events, ctx))
        return out

    def _live(self, state: RiderState, event: RiderEvent, ctx: RiderContext) -> list[Emission]:
        """The real-time path: reminders met by this record as it arrives."""
        kind = type(event)
        if kind is Ping:
            alerts = state.live.on_ping(event, ctx)  # type: ignore[arg-type]
        elif kind is OrderEvent:
            alerts = state.live.on_order_event(event, ctx)  # type: ignore[arg-type]
        else:
            return []
        if not alerts:
            return []
        # Fresh or not by the record that met the rule, not the alert's own date.
        if self.clock.is_fresh(event.ts):
            alerts = [a.model_copy(update={"realtime": True}) for a in alerts]
        return self._count([Emission("alerts", a.rider_id, a) for a in alerts])

    def _process(self, state: RiderState, events: list[RiderEvent],
                 ctx: RiderContext) -> list[Emission]:
        out: list[Emission] = []
        if self.track_changes:
            self.touched.add(ctx.rider_id)
        pipeline = state.pipeline
        had_deliveries = len(pipeline.delivered)
        for event in events:
            kind = type(event)
            if kind is Ping:
                out.extend(pipeline.on_ping(event, ctx))  # type: ignore[arg-type]
            elif kind is OrderEvent:
                out.extend(pipeline.on_order_event(event, ctx))  # type: ignore[arg-type]
            elif kind is PointRedemption:
                pipeline.on_redemption(event)  # type: ignore[arg-type]
                # Decided with the deliveries before it, once their areas are settled.
                heapq.heappush(self._deciding, (event.ts, ctx.rider_id))
            else:
                out.extend(pipeline.on_review(event, ctx))  # type: ignore[arg-type]
        if events and not state.quiet_check:
            state.quiet_check = True
            heapq.heappush(self._quiet, (events[-1].ts, ctx.rider_id))
        if len(pipeline.delivered) > had_deliveries:
            for order in pipeline.delivered[had_deliveries:]:
                heapq.heappush(self._deciding, (order.delivered_ts, ctx.rider_id))
        if pipeline.days.new_ends:
            self._schedule_days(pipeline, ctx.rider_id)
        # An order event its lifecycle refused came back as a dead letter: not processed.
        refused = sum(e.stream == "dead_letters" for e in out)
        self.stats.processed += len(events) - refused
        if refused and self._orders_topic:
            out = [e if e.stream != "dead_letters" else Emission(
                e.stream, e.key, e.value.model_copy(update={"source_topic": self._orders_topic}))
                for e in out]
        out = self._final(state, out) if out else out
        if state.buffer.released_until is not None:
            # A lateness period of margin: the event-time path may meet an alert at a later
            # record than the real-time path did.
            until = state.buffer.released_until
            state.live.forget_before(until - self.clock.lateness_ms,
                                     until - self._order_memory_ms)
        return out

    def _final(self, state: RiderState, out: list[Emission]) -> list[Emission]:
        """What the event-time path found, less the alerts the real-time path already sent."""
        live = state.live
        kept = [e for e in out if e.stream != "alerts"
                or not live.already_sent(e.value.alert_id)]  # type: ignore[attr-defined]
        return self._count(kept)

    def _release_waiting(self, before_ts: int, *, by_rider_clock: bool) -> list[Emission]:
        """Process buffered events older than `before_ts`: all of them for riders who went
        quiet (the area clock), or only as far as each rider's own clock allows (an input cap
        lifted in fleet mode)."""
        out: list[Emission] = []
        waiting = self._waiting
        rescheduled = []
        # One entry per rider with buffered events, keyed by a time at or before its earliest
        # one; an entry made stale by the rider's own releases is refreshed when it surfaces.
        while waiting and waiting[0][0] < before_ts:
            ts, rider_id = heapq.heappop(waiting)
            state = self.riders[rider_id]
            if ts != state.scheduled_ts:
                continue  # superseded by an earlier entry
            limit: int | None = before_ts
            if by_rider_clock:
                max_ts = state.buffer.max_ts
                limit = None if max_ts is None else self.clock.rider_final_before(
                    max_ts, before_ts)
            earliest = state.buffer.earliest_ts()
            if limit is not None and earliest is not None and earliest < limit:
                events = state.buffer.release(limit, self._dup_ms)
                out.extend(self._process(state, events, self._context(rider_id)))
                earliest = state.buffer.earliest_ts()
            state.scheduled_ts = earliest
            if earliest is not None:
                rescheduled.append((earliest, rider_id))
        for entry in rescheduled:
            heapq.heappush(waiting, entry)
        return out

    def _close_quiet(self, clock: int) -> list[Emission]:
        """Riders with nothing since before the area clock: close their episodes, as their next
        fix (after so long a gap) would, so quiet riders' alerts are not held back."""
        out: list[Emission] = []
        quiet = self._quiet
        # The next event can be no earlier than the clock, so a gap longer than any detector's
        # own (30 s for speeding) is certain: closing now is what that next event would do.
        before = clock - self._quiet_gap_ms
        while quiet and quiet[0][0] < before:
            ts, rider_id = heapq.heappop(quiet)
            state = self.riders[rider_id]
            last = state.buffer.last_ts
            if last is not None and last > ts:
                heapq.heappush(quiet, (last, rider_id))
                continue
            pending = state.buffer.earliest_ts()
            if pending is not None:
                heapq.heappush(quiet, (max(pending, ts + 1), rider_id))
                continue
            state.quiet_check = False
            if self.track_changes:
                self.touched.add(rider_id)
            out.extend(self._final(state, state.pipeline.close(self._context(rider_id))))
            heapq.heappush(self._idle, (ts, rider_id))
        return out

    def _decide(self, settled_until: int) -> list[Emission]:
        out: list[Emission] = []
        deciding = self._deciding
        riders: set[str] = set()
        while deciding and deciding[0][0] <= settled_until:
            riders.add(heapq.heappop(deciding)[1])
        if self.track_changes:
            self.touched.update(riders)
        for rider_id in sorted(riders):
            state = self.riders.get(rider_id)
            if state is not None:
                out.extend(self._decide_rider(state.pipeline, rider_id, settled_until))
                continue
            saved = self.evicted.get(rider_id)
            if saved is None:
                continue  # forgotten when evicted: nothing durable, no day left to decide
            # A riding day ends long after its rider went quiet and left memory: it is decided
            # all the same, and the rider leaves memory again.
            state = RiderState.restore(loads(zlib.decompress(saved)))
            out.extend(self._decide_rider(state.pipeline, rider_id, settled_until))
            self.evicted[rider_id] = zlib.compress(dumps(state.snapshot()))
            self._contexts.pop(rider_id, None)
        return self._count(out) if out else out

    def _decide_rider(self, pipeline: RiderPipeline, rider_id: str,
                      settled_until: int) -> list[Emission]:
        out = pipeline.decide_delivered(settled_until, self._context(rider_id))
        self._schedule_days(pipeline, rider_id)
        return out

    def _schedule_days(self, pipeline: RiderPipeline, rider_id: str) -> None:
        """A day the rider began is decided with the deliveries once it has ended and is
        settled, as a delivery at its last moment would be."""
        for day_end in pipeline.days.take_new_ends():
            heapq.heappush(self._deciding, (day_end, rider_id))

    # -- role models -----------------------------------------------------------------------

    def standing(self, rider_id: str, at_ts: int) -> RiderStanding | None:
        """Where a rider (in memory or evicted) stands for the role models at event time
        `at_ts`; None for a rider never seen or forgotten."""
        state = self.riders.get(rider_id)
        if state is None:
            saved = self.evicted.get(rider_id)
            if saved is None:
                return None
            state = RiderState.restore(loads(zlib.decompress(saved)))
        return state.pipeline.standing(at_ts, self.settings)

    def standings(self, at_ts: int) -> list[RiderStanding]:
        """Every known rider's standing at `at_ts`, by rider_id."""
        found = (self.standing(r, at_ts) for r in sorted(self.riders.keys() | self.evicted))
        return [s for s in found if s is not None]

    def _context(self, rider_id: str) -> RiderContext:
        ctx = self._contexts.get(rider_id)
        if ctx is None:
            ctx = self._contexts[rider_id] = RiderContext(
                rider_id, self.settings, self.zones, self.weather, self.congestion)
        return ctx

    # -- bookkeeping -----------------------------------------------------------------------

    def _late(self, event: InputEvent, source_topic: str,
              processed_until: int | None) -> Emission:
        lateness_s = self.clock.lateness_ms // 1000
        return self._dead(event, source_topic,
                          f"late: event time {event.ts} is before {processed_until}, up to which "
                          f"events were already processed (allowed lateness {lateness_s} s)")

    @staticmethod
    def _dead(event: InputEvent, source_topic: str, error: str) -> Emission:
        # The record's key is its id, checked on the way in. Its raw is its canonical JSON, not
        # the bytes it came as: a worker's rider partition only has the decoded record, and
        # replay must write the same dead letter.
        key = (getattr(event, "order_id", None) or getattr(event, "rider_id", None)
               or getattr(event, "city", None))
        value = dead_letter(source_topic, key, event.model_dump_json(), error)
        return Emission("dead_letters", key, value)

    def _count(self, emissions: list[Emission]) -> list[Emission]:
        stats = self.stats
        for e in emissions:
            stats.emitted[e.stream] += 1
            if e.stream == "alerts":
                stats.alerts_by_kind[e.value.kind] += 1  # type: ignore[attr-defined]
        return emissions


def _to_wgs84(ping: Ping) -> Ping:
    lat, lon = gcj02_to_wgs84(ping.lat, ping.lon)
    return dataclasses.replace(ping, lat=lat, lon=lon)
