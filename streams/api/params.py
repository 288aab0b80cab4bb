"""Query and path parameters: each one checked, and a refusal that names it and says why."""

import math
from collections.abc import Mapping

from schemas.inputs import CITY_MAX_LEN, ID_MAX_LEN


class BadParameter(ValueError):
    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


def _present(query: Mapping[str, str], name: str) -> str:
    value = query.get(name)
    if value is None or not value.strip():
        raise BadParameter(name, "is required")
    return value.strip()


def number(query: Mapping[str, str], name: str, low: float, high: float) -> float:
    """A finite number within [low, high]."""
    text = _present(query, name)
    try:
        value = float(text)
    except ValueError:
        raise BadParameter(name, f"must be a number, not {text[:40]!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadParameter(name, f"must be from {low:g} to {high:g}, not {text[:40]}")
    return value


def count(query: Mapping[str, str], name: str, default: int, high: int) -> int:
    """A whole number from 1 to `high`, `default` when absent."""
    if name not in query:
        return default
    text = query[name].strip()
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise BadParameter(name, f"must be a whole number from 1 to {high}, not {text[:40]!r}")
    return int(text)


def text(value: str | None, name: str, max_len: int) -> str:
    if value is None or not value.strip():
        raise BadParameter(name, "is required")
    value = value.strip()
    if len(value) > max_len:
        raise BadParameter(name, f"is longer than {max_len} characters")
    return value


def rider_id(value: str | None) -> str:
    return text(value, "rider_id", ID_MAX_LEN)


def city(query: Mapping[str, str]) -> str:
    return text(query.get("city"), "city", CITY_MAX_LEN)
