"""The detection core's plumbing: event time, ids, geometry, zones, per-rider state."""
