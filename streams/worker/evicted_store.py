"""Where a rider partition keeps the riders its core evicted from memory: a SQLite database on
the worker's disk, not the heap, so a worker's memory follows its active riders and not every
rider its partitions have seen.

It is a cache of the state changelog, never the record of truth: every evicted rider's last
snapshot is also in `knightwatch-rider-state` (written when the rider last changed), and a
partition's new owner rebuilds it from there. So it is SQLite's private temporary database
(in SQLITE_TMPDIR, else /var/tmp or /tmp), removed when the partition is closed or the process
dies, with no journal: nothing in it needs to survive a crash, and no crash leaves files behind.
"""

import sqlite3
from collections.abc import Iterator, MutableMapping


class EvictedRiders(MutableMapping[str, bytes]):
    """rider_id -> compressed snapshot, on disk."""

    def __init__(self) -> None:
        # "": a private temporary database, on disk once it outgrows SQLite's page cache.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE riders (id TEXT PRIMARY KEY, snapshot BLOB) WITHOUT ROWID")
        self._len = 0

    def __getitem__(self, rider_id: str) -> bytes:
        row = self._db.execute("SELECT snapshot FROM riders WHERE id = ?",
                               (rider_id,)).fetchone()
        if row is None:
            raise KeyError(rider_id)
        return row[0]

    def __setitem__(self, rider_id: str, snapshot: bytes) -> None:
        existed = self._db.execute("SELECT 1 FROM riders WHERE id = ?",
                                   (rider_id,)).fetchone() is not None
        self._db.execute("INSERT OR REPLACE INTO riders VALUES (?, ?)", (rider_id, snapshot))
        self._len += not existed

    def __delitem__(self, rider_id: str) -> None:
        if self._db.execute("DELETE FROM riders WHERE id = ?", (rider_id,)).rowcount == 0:
            raise KeyError(rider_id)
        self._len -= 1

    def pop(self, rider_id: str, *default: bytes | None) -> bytes | None:  # type: ignore[override]
        # One round trip fewer than MutableMapping's get-then-delete: a returning rider asks.
        row = self._db.execute("DELETE FROM riders WHERE id = ? RETURNING snapshot",
                               (rider_id,)).fetchone()
        if row is None:
            if default:
                return default[0]
            raise KeyError(rider_id)
        self._len -= 1
        return row[0]

    def __contains__(self, rider_id: object) -> bool:
        return self._db.execute("SELECT 1 FROM riders WHERE id = ?",
                                (rider_id,)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        # A list, not a cursor: callers may evict or restore riders while iterating.
        return iter([row[0] for row in self._db.execute("SELECT id FROM riders")])

    def __len__(self) -> int:
        return self._len

    def clear(self) -> None:
        self._db.execute("DELETE FROM riders")
        self._len = 0

    def close(self) -> None:
        """The partition left this worker: SQLite removes the database."""
        self._db.close()
