"""The serving layer: what the workers keep in Redis for other services (the key layout, the
writes waiting for Redis, the queries the HTTP API answers), apart from the Faust wiring."""
