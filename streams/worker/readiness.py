"""What /readyz answers: can this worker do its job now? The broker answers, Redis answers, and
the worker holds partitions. /health only says the process runs."""

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from streams.worker.serving import ServingWriter

# A probe that takes longer counts as a failure: a frozen broker or Redis answers nothing.
PROBE_TIMEOUT_S = 2.0


@dataclass
class Readiness:
    broker: bool
    redis: bool
    assigned: int  # partitions this worker consumes

    @property
    def ready(self) -> bool:
        return self.broker and self.redis and self.assigned > 0

    def as_json(self) -> dict[str, Any]:
        return {"ready": self.ready, "broker": self.broker, "redis": self.redis,
                "assigned_partitions": self.assigned}


class ReadinessProbe:
    def __init__(self, client_kwargs: dict[str, Any], serving: ServingWriter) -> None:
        self._client_kwargs = client_kwargs
        self._client: AIOKafkaClient | None = None  # made in the event loop, on first use
        self._serving = serving

    async def _broker(self) -> bool:
        try:
            if self._client is None:
                client = AIOKafkaClient(**self._client_kwargs)
                try:
                    await asyncio.wait_for(client.bootstrap(), PROBE_TIMEOUT_S)
                except BaseException:
                    await client.close()
                    raise
                self._client = client
            await asyncio.wait_for(self._client.fetch_all_metadata(), PROBE_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError):
            return False
        return True

    async def _redis(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._serving.client.ping(), PROBE_TIMEOUT_S))
        except Exception:  # any failure to answer is "not ready", whatever its type
            return False

    async def check(self, assigned: int) -> Readiness:
        broker, redis_ok = await asyncio.gather(self._broker(), self._redis())
        return Readiness(broker, redis_ok, assigned)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
