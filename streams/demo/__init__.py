"""A simulated city for `knightwatch demo`: riders good and bad, orders, a weather warning."""
