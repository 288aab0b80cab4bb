"""The safety score (bounded points and tiers tied to order-taking privileges), the safety-points
ledger beside it, each rider's riding days, and the role models ranked from them."""
