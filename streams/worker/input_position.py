"""How far an owner has read a consumed input partition, and whether that is all of it: the
ingest stage says so of the inputs it routes, a rider partition of the rider-gps it reads."""

from collections.abc import Awaitable, Callable

# Where an owner that has been handed nothing yet starts reading (PartitionOwners._make).
StartPosition = Callable[[], Awaitable[int | None]]


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
