"""Knightwatch: real-time rider-safety stream processing.

Layout: `core/` and `detectors/` and `scoring/` are pure, deterministic Python over typed events;
`replay/` and `worker/` wire that core to a file or to Kafka.
"""
