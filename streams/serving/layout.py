"""Where each piece of served data lives in Redis (README: "The serving layer"), and how a
rider's place on their city's leaderboard is ordered."""

from dataclasses import dataclass

from streams.scoring.role_models import POINTS_SPAN

# The leaderboard orders by score, then by points, as the role models rank:
# score * SCORE_WEIGHT + points, points capped below the weight.
SCORE_WEIGHT = POINTS_SPAN


@dataclass(frozen=True)
class KeyLayout:
    prefix: str

    def rider(self, rider_id: str) -> str:
        """Hash: score, tier, score_ts, delta_id, points, points_change_id, city, board,
        first_aid_certified, certified_until."""
        return f"{self.prefix}rider:{rider_id}"

    def alerts(self, rider_id: str) -> str:
        """List: the rider's latest committed alerts (JSON), newest first."""
        return f"{self.prefix}alerts:{rider_id}"

    def open_orders(self, rider_id: str) -> str:
        """Set: ids of the rider's orders under way (accepted, not yet delivered or
        cancelled); a rider with any is mid-delivery."""
        return f"{self.prefix}orders:{rider_id}"

    def leaderboard(self, city: str) -> str:
        """Sorted set: riders of the city by role-model standing, highest first."""
        return f"{self.prefix}leaderboard:{city}"

    @property
    def certified(self) -> str:
        """Hash: first-aid-certified rider -> certified_until (epoch ms)."""
        return f"{self.prefix}first-aiders:certified"

    @property
    def positions(self) -> str:
        """GEO set: certified riders' latest positions."""
        return f"{self.prefix}first-aiders:positions"

    @property
    def seen(self) -> str:
        """Sorted set: certified rider -> event time (epoch ms) of the position in the GEO
        set. GEO members cannot expire: positions older than the TTL are pruned by it."""
        return f"{self.prefix}first-aiders:seen"


@dataclass(frozen=True)
class Standing:
    """What the leaderboard knows of a rider."""

    score: int
    points: int
    city: str | None
    role_model: bool  # eligible at the rider partition's event time (scoring.role_models)


def role_model_standing(rider: Standing) -> int | None:
    """The rider's value on their city's leaderboard, or None to keep them off it: a rider
    with no known city, or not eligible (a penalised alert in the period, or too few
    deliveries: `streams.scoring.role_models`). Ordered as `RiderStanding.sort_value`."""
    if rider.city is None or not rider.role_model:
        return None
    return rider.score * SCORE_WEIGHT + min(max(rider.points, 0), SCORE_WEIGHT - 1)


def from_standing(value: float) -> tuple[int, int]:
    """(score, points) back from a leaderboard value."""
    score, points = divmod(int(value), SCORE_WEIGHT)
    return score, points
