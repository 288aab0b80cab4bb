"""The Redis serving layer: each rider's latest score and tier, for services that ask directly.

Written after the partition's transaction commits, so Redis never shows an uncommitted score.
Committed scores wait in memory (the latest per rider) until a write succeeds: Redis down,
restarting or paused never holds up event processing (the worker only hands scores over; a
timer writes them, with timeouts), nothing is lost, and Redis catches up when it returns. A
write lost to a crash between commit and write is redone by whoever restores the partition,
which hands over every restored rider's latest score again.
"""

import logging

import orjson
import redis.asyncio as redis

from streams.worker.metrics import SERVING_FAILURES

log = logging.getLogger(__name__)
KEY_PREFIX = "knightwatch:rider:"
# A write that takes longer waits for the next flush: Redis is slow or away.
_TIMEOUT_S = 2.0


class ScoreServing:
    def __init__(self, url: str, deltas_topic: str, key_prefix: str = KEY_PREFIX) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=_TIMEOUT_S,
                                           socket_connect_timeout=_TIMEOUT_S)
        self.deltas_topic = deltas_topic
        self.key_prefix = key_prefix
        # rider -> latest committed score not yet in Redis
        self.pending: dict[str, dict] = {}
        self.healthy = True  # the last write succeeded

    def hand_over(self, outputs: list[tuple[str, bytes | None, bytes, int | None]]) -> None:
        """Committed outputs: their riders' latest scores are to be written."""
        for topic, _key, value, _ in outputs:
            if topic == self.deltas_topic:
                delta = orjson.loads(value)
                self.pending[delta["rider_id"]] = delta

    async def flush(self) -> bool:
        """Write every pending score; True when Redis has them all."""
        if not self.pending:
            return True
        batch, self.pending = self.pending, {}
        try:
            pipe = self.client.pipeline(transaction=False)
            for rider_id, d in batch.items():
                pipe.hset(self.key_prefix + rider_id, mapping={
                    "score": d["score"], "tier": d["tier"], "ts": d["ts"],
                    "delta_id": d["delta_id"]})
            await pipe.execute()
        except (redis.RedisError, OSError) as exc:
            # Kept for the next flush, unless a newer score came meanwhile.
            self.pending = {**batch, **self.pending}
            SERVING_FAILURES.inc()
            if self.healthy:
                log.warning("serving layer write failed, %d riders waiting: %s",
                            len(self.pending), exc)
            self.healthy = False
            return False
        if not self.healthy:
            log.warning("serving layer writes again")
        self.healthy = True
        return True

    async def publish(self, outputs: list[tuple[str, bytes | None, bytes, int | None]]) -> bool:
        """Hand over and write now (tests, and restores)."""
        self.hand_over(outputs)
        return await self.flush()

    async def close(self) -> None:
        await self.client.aclose()
