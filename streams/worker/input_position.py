"""How far an owner has read a consumed input partition, and whether that is all of it: the
ingest stage says so of the inputs it routes, a rider partition of the rider-gps it reads."""

from collections.abc import Awaitable, Callable

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
