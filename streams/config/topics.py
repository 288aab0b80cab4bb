"""Topic names: defaults of the contract, each overridable."""

import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streams.config.thresholds import conflict
from streams.primitives.emissions import OutputStream

# What Kafka accepts as a topic name (kafka.common.internals.Topic): checked here so that a bad
# name stops a run at start, not the worker at its first topic creation.
_KAFKA_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


class TopicNames(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    gps: str = Field("rider-gps", description="Input: rider GPS pings, key rider_id.")
    orders: str = Field("order-events", description="Input: order lifecycle, key order_id.")
    weather: str = Field("weather-events", description="Input: weather warnings, key city.")
    reviews: str = Field("rider-alert-reviews",
                         description="Input: reviewers' verdicts on alerts, key rider_id.")
    redemptions: str = Field("rider-point-redemptions",
                             description="Input: riders spending safety points, key rider_id.")
    profiles: str = Field("rider-profiles", description="Input: riders' first-aid "
                          "certification, key rider_id; read by the serving layer only.")
    alerts: str = Field("rider-alerts", description="Output: alerts, key rider_id.")
    deltas: str = Field("rider-score-deltas", description="Output: score deltas, key rider_id.")
    exemptions: str = Field("order-exemptions",
                            description="Output: timeout decisions, key order_id.")
    subsidies: str = Field("rider-subsidies",
                           description="Output: weather subsidies, key rider_id.")
    points: str = Field("rider-safety-points", description="Output: safety-points changes "
                        "and refused redemptions, key rider_id.")
    area_risk: str = Field("area-risk", description="Output: congestion cell changes, key cell.")
    dead_letters: str = Field("dead-letters", description="Output: rejected records.")
    rider_events: str = Field("knightwatch-rider-events", description="Internal: every input "
                              "but rider-gps (read by the rider partitions themselves), validated "
                              "and partitioned by rider; weather to every partition.")
    area_progress: str = Field("knightwatch-area-progress", description="Internal: partitions' "
                               "congestion shares and progress, partitioned by cell.")
    rider_state: str = Field("knightwatch-rider-state", description="Internal, compacted: rider "
                             "partitions' checkpoints.")
    area_state: str = Field("knightwatch-area-state", description="Internal, compacted: "
                            "congestion judges' checkpoints.")

    @model_validator(mode="after")
    def _distinct_and_legal(self) -> Self:
        seen: dict[str, str] = {}
        for role, name in self:
            if not _KAFKA_TOPIC.fullmatch(name) or name in (".", ".."):
                raise conflict(f"{role} topic {name!r} is not a Kafka topic name (1-249 of "
                               "A-Z a-z 0-9 . _ -)")
            # A record's topic is what says what it is: two roles on one topic would read
            # outputs back as inputs, or orders as GPS fixes.
            if name in seen:
                raise conflict(f"{seen[name]} and {role} are both {name!r}: every topic needs "
                               "its own name")
            seen[name] = role
        return self

    def input_roles(self) -> dict[str, str]:
        """Topic name -> logical input."""
        return {self.gps: "gps", self.orders: "orders", self.weather: "weather",
                self.reviews: "reviews", self.redemptions: "redemptions"}

    def output(self, stream: OutputStream) -> str:
        return getattr(self, stream)
