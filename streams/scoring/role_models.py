"""Safety role models: per city and rolling period, the riders with the highest score (then the
most safety points) who had no penalised alert in the period and made at least a minimum
number of deliveries in it.

A rider's `RiderStanding` is computed from their state at an event time; `leaderboard` ranks
the standings of one city. Both are pure: the serving layer writes what they return."""

from collections.abc import Iterable
from dataclasses import dataclass

from streams.config.thresholds import RoleModels

# A standing's place as one number, for a sorted set whose members compare by a double (Redis
# ZADD): the score in the high digits, the points balance in the low nine. A double holds
# integers exactly up to 2^53 (~9e15), so any score up to 9 million and any balance below a
# billion (a safe delivery earns 10) rank exactly as `leaderboard` ranks them.
POINTS_SPAN = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RiderStanding:
    rider_id: str
    city: str | None  # the city the rider was last seen in
    score: int
    points: int  # safety-points balance
    deliveries: int  # in the period
    penalised_alerts: int  # in the period, less those dismissed
    eligible: bool

    @property
    def sort_value(self) -> int:
        """Higher is better: score first, then points (a balance beyond the span counts as
        its largest value). Equal values tie: rank with `leaderboard` when ties matter (it
        breaks them by rider_id; a sorted set by member bytes)."""
        return self.score * POINTS_SPAN + min(max(self.points, 0), POINTS_SPAN - 1)


def standing(rider_id: str, city: str | None, score: int, points: int, deliveries: int,
             penalised_alerts: int, cfg: RoleModels) -> RiderStanding:
    eligible = penalised_alerts == 0 and deliveries >= cfg.min_deliveries
    return RiderStanding(rider_id, city, score, points, deliveries, penalised_alerts, eligible)


def leaderboard(standings: Iterable[RiderStanding], city: str,
                limit: int | None = None) -> list[RiderStanding]:
    """The eligible riders of `city`, best first: highest score, then most points, then
    rider_id, so the order never depends on the order standings come in."""
    ranked = sorted((s for s in standings if s.eligible and s.city == city),
                    key=lambda s: (-s.score, -s.points, s.rider_id))
    return ranked if limit is None else ranked[:limit]


def role_models(standings: Iterable[RiderStanding], city: str,
                cfg: RoleModels) -> list[RiderStanding]:
    """The riders `city` names as its role models: the top `cfg.per_city` of its board."""
    return leaderboard(standings, city, cfg.per_city)
