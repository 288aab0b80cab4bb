"""Committed output records as a rider partition hands them to the serving layer."""

import orjson

from schemas import PointsChange, RiderAlert, ScoreDelta
from schemas.outputs import LocalizedMessage
from streams.config.topics import TopicNames
from tests.builders import T0

TOPICS = TopicNames()


def delta(rider: str, score: int, n: int, tier: str = "A") -> tuple:
    value = ScoreDelta(delta_id=f"d{n}", rider_id=rider, ts=T0 + n, delta=-1, reason="speeding",
                       ref=f"a{n}", score=score, tier=tier)
    return (TOPICS.deltas, rider.encode(), orjson.dumps(value.model_dump(mode="json")), None)


def points(rider: str, balance: int, n: int) -> tuple:
    value = PointsChange(change_id=f"p{n}", rider_id=rider, ts=T0 + n, points=10,
                         reason="safe_delivery", ref=f"o{n}", balance=balance)
    return (TOPICS.points, rider.encode(), orjson.dumps(value.model_dump(mode="json")), None)


def alert(rider: str, n: int) -> tuple:
    value = RiderAlert(alert_id=f"a{n}", rider_id=rider, ts=T0 + n, kind="speeding",
                       severity="warning", message=LocalizedMessage(zh="超速", en="speeding"),
                       evidence={})
    return (TOPICS.alerts, rider.encode(), orjson.dumps(value.model_dump(mode="json")), None)
