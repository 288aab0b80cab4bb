"""How far an owner has read a consumed input partition, and whether that is all of it: the
ingest stage says so of the inputs it routes, a rider partition of the rider-gps it reads."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

# Where an owner that has been handed nothing yet starts reading (PartitionOwners._make).
StartPosition = Callable[[], Awaitable[int | None]]
# When the consumer last learnt the partition's end offset (epoch ms), if it has.
PolledAt = Callable[[], int | None]


async def next_to_read(last_offset: int, position: StartPosition | None) -> int | None:
    """The next offset to read: the one after the last read, or, for an owner that has read
    nothing (it starts where the previous owner committed, possibly at the end), where it
    starts; None when that cannot be told (the partition is no longer assigned)."""
    if last_offset >= 0:
        return last_offset + 1
    if position is None:
        return 0
    try:
        return await position() or 0
    except Exception:
        return None


def read_all(read_to: int, highwater: int | None) -> bool:
    """Read up to the partition's end as of the consumer's last fetch (`highwater`)."""
    return highwater is not None and read_to >= highwater


def word_sent_ms(caught_up: bool, polled_at: PolledAt | None, now_ms: int) -> int:
    """The wall time a word on an input's progress speaks for: for a caught-up word, when the
    end offset it was measured against was fetched, not when the word is sent. Through a
    frozen broker the consumer learns nothing, and a word repeated meanwhile must not vouch
    for records written since."""
    polled = polled_at() if caught_up and polled_at is not None else None
    return now_ms if polled is None else min(polled, now_ms)


class EarliestOffsets:
    """Each partition's earliest offset as last learnt from the broker, for owners that have
    read nothing yet (an input topic with no records, say). Never awaited: what is known is
    served at once (None before the first answer), and the broker is asked in the background
    when nothing is known or the answer is older than `refresh_s`. A checkpoint that awaited
    the answer through the consumer's thread waited up to 1.5 s each time, and 16 s after a
    rebalance, holding back its partition's commit and every progress word behind it. An
    older answer is never too high (the earliest offset only grows, as retention deletes), and
    None counts as nothing read, so at worst an owner says a little longer that it has not
    read its input to the end."""

    def __init__(self, ask: Callable[[Any], Awaitable[int | None]], refresh_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ask = ask
        self.refresh_s = refresh_s
        self._clock = clock
        self._known: dict[Any, tuple[int, float]] = {}
        self._asking: dict[Any, asyncio.Future] = {}

    def get(self, tp: Any) -> int | None:
        known = self._known.get(tp)
        stale = known is None or self._clock() - known[1] >= self.refresh_s
        if stale and tp not in self._asking:
            self._asking[tp] = asyncio.ensure_future(self._learn(tp))
        return None if known is None else known[0]

    async def _learn(self, tp: Any) -> None:
        try:
            value = await self._ask(tp)
            if value is not None:
                self._known[tp] = (value, self._clock())
        except Exception:  # no longer assigned, or the broker away: the last answer stands
            pass
        finally:
            self._asking.pop(tp, None)


class OffsetReader:
    """Answers offset questions through a consumer of its own (no group), made and used on the
    Kafka client loop (client_loop.py). Not through the worker's consumer: Faust runs that
    one's calls two at a time on its thread, each behind the fetches' long polls on the same
    connection, and with a few dozen empty input partitions asking, the fetch loop's own
    next batch waited behind them: a worker stood idle for up to 35 s with records to read."""

    def __init__(self, client_kwargs: dict[str, Any]) -> None:
        self._client_kwargs = client_kwargs
        self._consumer: AIOKafkaConsumer | None = None
        self._starting: asyncio.Future | None = None

    async def earliest(self, topic: str, partition: int) -> int | None:
        consumer = await self._started()
        tp = TopicPartition(topic, partition)
        return (await consumer.beginning_offsets([tp])).get(tp)

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is not None:
            return self._consumer
        if self._starting is None:  # one start, however many questions wait for it
            self._starting = asyncio.ensure_future(self._start())
        try:
            return await asyncio.shield(self._starting)
        except Exception:
            self._starting = None  # the next question tries again
            raise

    async def _start(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False,
                                    **self._client_kwargs)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        return consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
