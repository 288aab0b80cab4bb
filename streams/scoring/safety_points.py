"""A rider's safety points: the redeemable balance beside the capped score. Earned by safe
deliveries (more under severe weather) and safe riding days, never taken by penalties (those
move the score), and spent only by a redemption, which is refused with its reason when the
balance is short.

Every change has an id derived from its cause and is applied once, as score deltas are; the
ledger is fed in event-time order (the rider's reorder buffer), so whether a redemption goes
through does not depend on the order its records arrived in."""

from typing import Any, Self

from schemas import PointRedemption, PointsChange
from streams.config.thresholds import Scoring
from streams.primitives.ids import derived_id
from streams.primitives.snapshot import Migration, Snapshot, fields, versioned

KIND = "scoring.safety_points"
VERSION = 1
MIGRATIONS: dict[int, Migration] = {}


class SafetyPoints:
    __slots__ = ("_applied", "balance", "rider_id")

    def __init__(self, rider_id: str) -> None:
        self.rider_id = rider_id
        self.balance = 0
        self._applied: dict[str, int] = {}  # change_id -> event time it was applied at

    def snapshot(self) -> Snapshot:
        return versioned(KIND, VERSION, rider_id=self.rider_id, balance=self.balance,
                         applied=dict(self._applied))

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Self:
        values = fields(data, KIND, VERSION, MIGRATIONS)
        points = cls.__new__(cls)
        points.rider_id = values["rider_id"]
        points.balance = values["balance"]
        points._applied = dict(values["applied"])
        return points

    def untouched(self) -> bool:
        return self.balance == 0 and not self._applied

    def on_delivery(self, order_id: str, ts: int, *, safe: bool, severe_weather: bool,
                    cfg: Scoring) -> list[PointsChange]:
        """A decided delivery: `safe` when on time or exempt with no penalised alert during
        it; `severe_weather` when made under a severe-weather warning."""
        if not safe:
            return []
        out = self._change(derived_id("points", "safe", order_id), ts,
                           cfg.safe_delivery_points, "safe_delivery", order_id, cfg)
        if severe_weather:
            out += self._change(derived_id("points", "weather", order_id), ts,
                                cfg.severe_weather_points, "severe_weather_delivery", order_id,
                                cfg)
        return out

    def on_safe_day(self, day: str, ts: int, cfg: Scoring) -> list[PointsChange]:
        """A local day ridden safely, decided once it is final; `day` is its ISO date, `ts`
        its end."""
        return self._change(derived_id("points", "day", self.rider_id, day), ts,
                            cfg.safe_riding_day_points, "safe_riding_day", day, cfg)

    def on_redemption(self, redemption: PointRedemption, cfg: Scoring) -> list[PointsChange]:
        change_id = derived_id("points", "redemption", self.rider_id, redemption.redemption_id)
        if change_id in self._applied:
            return []  # the same redemption again: spent (or refused) once
        if redemption.points > self.balance:
            self._remember(change_id, redemption.ts, cfg)
            return [PointsChange(
                change_id=change_id, rider_id=self.rider_id, ts=redemption.ts, points=0,
                reason="redemption_refused", ref=redemption.redemption_id,
                balance=self.balance, reward=redemption.reward,
                refused=f"balance {self.balance} is short of the {redemption.points} points "
                "asked")]
        return self._change(change_id, redemption.ts, -redemption.points, "redemption",
                            redemption.redemption_id, cfg, reward=redemption.reward)

    def _change(self, change_id: str, ts: int, points: int, reason: str, ref: str,
                cfg: Scoring, reward: str | None = None) -> list[PointsChange]:
        if points == 0 or change_id in self._applied:
            return []
        self._remember(change_id, ts, cfg)
        self.balance += points
        return [PointsChange(change_id=change_id, rider_id=self.rider_id, ts=ts, points=points,
                             reason=reason, ref=ref, balance=self.balance,  # type: ignore[arg-type]
                             reward=reward)]

    def _remember(self, change_id: str, ts: int, cfg: Scoring) -> None:
        self._applied[change_id] = ts
        if len(self._applied) % 256 == 0:
            # Causes older than this cannot come round again (their inputs would be late), so
            # the bookkeeping stays bounded, as the score's does.
            horizon = ts - int(cfg.memory_days * 86_400_000)
            self._applied = {k: t for k, t in self._applied.items() if t >= horizon}
