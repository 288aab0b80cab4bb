"""How far an owner has read a consumed input partition, and whether that is all of it: the
ingest stage says so of the inputs it routes, a rider partition of the rider-gps it reads."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

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
    read nothing yet (an input topic with no records, say). Asked once and then again in the
    background whenever the answer is older than `refresh_s`: a checkpoint that waited for the
    broker's answer through the consumer's thread (up to 1.5 s, longer during a rebalance)
    held back its partition's commit and every progress word behind it. An older answer is
    never too high (the earliest offset only grows, as retention deletes), so at worst an
    owner says for a little longer that it has not read everything."""

    def __init__(self, ask: Callable[[Any], Awaitable[int | None]], refresh_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ask = ask
        self.refresh_s = refresh_s
        self._clock = clock
        self._known: dict[Any, tuple[int, float]] = {}
        self._refreshing: dict[Any, asyncio.Future] = {}

    async def get(self, tp: Any) -> int | None:
        known = self._known.get(tp)
        if known is None:
            return await self._learn(tp)
        value, learnt_at = known
        if self._clock() - learnt_at >= self.refresh_s and tp not in self._refreshing:
            self._refreshing[tp] = asyncio.ensure_future(self._refresh(tp))
        return value

    async def _learn(self, tp: Any) -> int | None:
        value = await self._ask(tp)
        if value is not None:
            self._known[tp] = (value, self._clock())
        return value

    async def _refresh(self, tp: Any) -> None:
        try:
            await self._learn(tp)
        except Exception:  # no longer assigned, or the broker away: the last answer stands
            pass
        finally:
            self._refreshing.pop(tp, None)
