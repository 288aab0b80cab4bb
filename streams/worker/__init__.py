"""The Kafka wiring: faust-streaming workers driving the same core as `knightwatch replay`."""
