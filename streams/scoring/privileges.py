"""What a tier lets a rider take: dispatch's question "may this rider take this order?"."""

from schemas.outputs import Tier
from streams.config.thresholds import Scoring, TierPrivileges


def privileges_for(tier: Tier, cfg: Scoring) -> TierPrivileges:
    return {"A": cfg.privileges_a, "B": cfg.privileges_b, "C": cfg.privileges_c,
            "D": cfg.privileges_d}[tier]
