"""State as data: the form every stateful object's `snapshot()` takes, and its checks.

A snapshot is plain values only (dicts with str keys, lists, str, int, float, bool, None), so
it survives JSON and any process, carries no settings (an object is rebuilt with the settings
in force when it is restored) and says which version of its layout it is. Older versions are
upgraded by the owner's migrations; a newer or unknown one is refused, never guessed at.

Convention, for every stateful class:

    def snapshot(self) -> dict: ...                 # versioned(KIND, VERSION, field=..., ...)
    @classmethod
    def restore(cls, data: dict) -> Self: ...       # fields(data, KIND, VERSION, MIGRATIONS)
"""

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from streams.primitives.fix import Fix

Snapshot = dict[str, Any]
Migration = Callable[[Snapshot], Snapshot]


class SnapshotError(ValueError):
    """A snapshot that cannot be restored: another kind, a newer version, or malformed."""


class _Fields(dict):
    """A snapshot's values: a missing one is a SnapshotError naming it, not a bare KeyError."""

    def __missing__(self, key: str) -> Any:
        raise SnapshotError(f"malformed {self.get('kind')} snapshot: no {key!r}")


def versioned(kind: str, version: int, **values: Any) -> Snapshot:
    return {"kind": kind, "v": version, **values}


def fields(data: Mapping[str, Any], kind: str, version: int,
           migrations: Mapping[int, Migration] | None = None) -> Snapshot:
    """The snapshot's values at the current `version`, upgrading older ones step by step.

    `migrations[n]` turns a version-n snapshot into a version-(n+1) one."""
    if not isinstance(data, Mapping) or data.get("kind") != kind:
        found = data.get("kind") if isinstance(data, Mapping) else type(data).__name__
        raise SnapshotError(f"expected a {kind!r} snapshot, got {found!r}")
    found_version = data.get("v")
    if not isinstance(found_version, int) or found_version < 1:
        raise SnapshotError(f"{kind} snapshot has no valid version: {found_version!r}")
    if found_version > version:
        raise SnapshotError(
            f"{kind} snapshot is version {found_version}, newer than this Knightwatch "
            f"understands ({version}); upgrade Knightwatch before restoring it")
    values = dict(data)
    while values["v"] < version:
        step = (migrations or {}).get(values["v"])
        if step is None:
            raise SnapshotError(f"no migration for {kind} snapshot version {values['v']}")
        values = dict(step(values))
        values["kind"] = kind
    return _Fields(values)


def dumps(data: Snapshot) -> bytes:
    """Canonical bytes of a snapshot (sorted keys: the same state gives the same bytes)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def loads(raw: bytes | str) -> Snapshot:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"snapshot is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SnapshotError("snapshot is not a JSON object")
    return data


def fix_to_plain(fix: Fix | None) -> list | None:
    if fix is None:
        return None
    return [fix.ts, fix.lat, fix.lon, fix.speed_kmh, fix.speed_source, fix.device_speed_kmh,
            fix.course_deg, fix.device_heading_deg, fix.city]


def fix_from_plain(values: list | None) -> Fix | None:
    if values is None:
        return None
    return Fix(*values)
