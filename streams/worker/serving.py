"""The Redis serving layer: each rider's latest score and tier, for services that ask directly.

Written after the partition's transaction commits, so Redis never shows an uncommitted score; a
write lost to a crash between commit and write is redone by whoever restores the partition,
which writes every restored rider's latest score again.
"""

import logging

import orjson
import redis.asyncio as redis

from streams.worker.metrics import SERVING_ERRORS

log = logging.getLogger(__name__)
KEY_PREFIX = "knightwatch:rider:"


class ScoreServing:
    def __init__(self, url: str, deltas_topic: str, key_prefix: str = KEY_PREFIX) -> None:
        self.client = redis.Redis.from_url(url)
        self.deltas_topic = deltas_topic
        self.key_prefix = key_prefix

    async def publish(self, outputs: list[tuple[str, bytes | None, bytes, int | None]]) -> None:
        latest: dict[str, dict] = {}
        for topic, _key, value, _ in outputs:
            if topic == self.deltas_topic:
                delta = orjson.loads(value)
                latest[delta["rider_id"]] = delta
        if not latest:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for rider_id, d in latest.items():
                pipe.hset(self.key_prefix + rider_id, mapping={
                    "score": d["score"], "tier": d["tier"], "ts": d["ts"],
                    "delta_id": d["delta_id"]})
            await pipe.execute()
        except (redis.RedisError, OSError) as exc:
            SERVING_ERRORS.inc()
            log.warning("serving layer write failed: %s", exc)

    async def close(self) -> None:
        await self.client.aclose()
