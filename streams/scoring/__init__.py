"""The safety score: bounded points and tiers tied to order-taking privileges."""
