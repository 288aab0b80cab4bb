"""The worker's side of the serving layer: what each commit, batch and profile hands over waits
in memory (PendingWrites: bounded by riders) until a timer writes it to Redis.

Written after the partition's transaction commits, so Redis never shows an uncommitted score,
balance or alert. Redis down, restarting or paused never holds up event processing (the worker
only hands data over; the timer writes with timeouts), the failures are counted, nothing is
lost, and Redis catches up when it returns. A write lost to a crash between commit and write is
redone for scores and balances by whoever restores the partition, which hands over every
restored rider's latest score and balance again.
"""

import logging
import time
from collections.abc import Callable, Iterable

import redis.asyncio as redis

from schemas import RiderProfile
from streams.config.settings import KnightwatchSettings
from streams.serving.layout import KeyLayout
from streams.serving.live import LiveRiders
from streams.serving.pending import Output, PendingWrites, Placing, ServedRider, no_placing
from streams.serving.store import ServingStore
from streams.worker.metrics import SERVING_FAILURES

log = logging.getLogger(__name__)
# A write that takes longer waits for the next flush: Redis is slow or away.
_TIMEOUT_S = 2.0
# Riders per Redis transaction. The client packs and parses every command in the event loop
# (~0.1 ms a rider): a backlog written at once after an outage held the loop, and with it
# event processing, for seconds; 500 at a time holds it for tens of milliseconds.
WRITE_CHUNK = 500


class ServingWriter:
    def __init__(self, settings: KnightwatchSettings,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=_TIMEOUT_S,
                                           socket_connect_timeout=_TIMEOUT_S)
        self.serving = settings.serving
        self.store = ServingStore(self.client, KeyLayout(settings.redis_key_prefix),
                                  settings.serving, settings.detection.scoring,
                                  settings.detection.orders.max_age_s)
        self.pending = PendingWrites(settings.topics, settings.serving.alerts_kept)
        self._in_flight: PendingWrites | None = None
        self.wall_ms = wall_ms
        self.healthy = True  # the last write succeeded
        # Certified riders -> certified_until: only their positions are written. Updated in
        # place: rider partitions look riders up in it as fixes arrive (LiveRiders).
        self.certified: dict[str, int] = {}
        self._certified_read_ms: int | None = None
        # Certified rider -> event time of the last position handed over (the throttle).
        self._position_ts: dict[str, int] = {}
        # The Redis server's run id: a new one means it restarted, empty unless it persists.
        self._run_id: str | None = None
        # Hands over again what this worker's riders in memory hold (set by the owners).
        self.on_redis_reset: Callable[[], None] = lambda: None

    # -- handing over ----------------------------------------------------------------------

    def hand_over(self, outputs: Iterable[Output],
                  placing_of: Callable[[str], Placing | None] = no_placing) -> None:
        """Committed outputs of a rider partition."""
        self.pending.add_outputs(outputs, placing_of)

    def hand_over_state(self, riders: Iterable[ServedRider]) -> None:
        """Riders as a partition's state holds them: restored, or for a Redis come back
        empty."""
        self.pending.add_served(riders)

    def hand_over_live(self, live: LiveRiders) -> None:
        """A batch's positions and order steps. Only certified riders' positions are kept, at
        most one per `position_interval_s` of event time each."""
        interval_ms = int(self.serving.position_interval_s * 1000)
        for rider_id, position in live.positions.items():
            if self.certified.get(rider_id, position.ts) <= position.ts:
                continue  # not certified, or no longer
            last = self._position_ts.get(rider_id)
            if last is None or position.ts - last >= interval_ms:
                self._position_ts[rider_id] = position.ts
                self.pending.add_position(rider_id, position)
        for rider_id, order_id, ts, under_way in live.orders:
            self.pending.add_order(rider_id, order_id, ts, under_way)

    def hand_over_profile(self, profile: RiderProfile, source: tuple[int, int]) -> None:
        """A rider-profiles record: (partition, offset) it was read from."""
        self.pending.add_profile(profile, source)
        if profile.first_aid_certified and profile.certified_until is not None:
            self.certified[profile.rider_id] = profile.certified_until
        else:
            self.certified.pop(profile.rider_id, None)
            self._position_ts.pop(profile.rider_id, None)

    def unwritten_profile_offset(self, partition: int) -> int | None:
        """The oldest offset of the rider-profiles partition not yet in Redis: its consumer
        commits no further, so a crash reads it again."""
        waiting = [self.pending.unwritten_offset(partition)]
        if self._in_flight is not None:
            waiting.append(self._in_flight.unwritten_offset(partition))
        return min((o for o in waiting if o is not None), default=None)

    @property
    def riders_waiting(self) -> int:
        return len(self.pending) + (len(self._in_flight) if self._in_flight else 0)

    # -- writing -------------------------------------------------------------------------

    async def flush(self) -> bool:
        """Write everything pending; True when Redis has it all."""
        now_ms = self.wall_ms()
        try:
            # At once after a failure: Redis may be a restarted, empty one.
            await self._refresh(now_ms, force=not self.healthy)
        except (redis.RedisError, OSError) as exc:
            return self._failed(exc)
        # What waits now, chunk by chunk; what comes meanwhile waits for the next flush.
        for _ in range(-(-len(self.pending) // WRITE_CHUNK)):
            batch = self._in_flight = self.pending.take(WRITE_CHUNK)
            try:
                await self.store.write(batch, now_ms)
            except (redis.RedisError, OSError) as exc:
                self.pending.put_back(batch)  # under whatever came meanwhile
                return self._failed(exc)
            finally:
                self._in_flight = None
        if not self.healthy:
            log.warning("serving layer writes again")
        self.healthy = True
        return True

    def _failed(self, exc: BaseException) -> bool:
        SERVING_FAILURES.inc()
        if self.healthy:
            log.warning("serving layer write failed, %d riders waiting: %s",
                        self.riders_waiting, exc)
        self.healthy = False
        return False

    async def _refresh(self, now_ms: int, force: bool) -> None:
        """Every `certified_refresh_s`: whether Redis restarted (then everything this worker
        knows is written again), and the certified riders."""
        due = int(self.serving.certified_refresh_s * 1000)
        if not force and self._certified_read_ms is not None \
                and now_ms - self._certified_read_ms < due:
            return
        run_id = (await self.client.info("server"))["run_id"]
        if self._run_id is not None and run_id != self._run_id:
            log.warning("Redis restarted: writing this worker's riders and certificates again")
            self.pending.add_certified(self.certified)
            self.on_redis_reset()
        self._run_id = run_id
        stored = await self.store.certified()
        # Profiles handed over here and not yet written stand over what Redis says.
        for rider_id, change in self.pending.profiles.items():
            if change.certified_until is None:
                stored.pop(rider_id, None)
            else:
                stored[rider_id] = change.certified_until
        self.certified.clear()
        self.certified.update(stored)
        self._position_ts = {r: ts for r, ts in self._position_ts.items() if r in stored}
        self._certified_read_ms = now_ms

    async def publish(self, outputs: Iterable[Output]) -> bool:
        """Hand over and write now (tests, and restores)."""
        self.hand_over(outputs)
        return await self.flush()

    async def close(self) -> None:
        await self.client.aclose()
