"""Below the detectors: typed events, fixes, ids, geometry, zones, messages, emissions."""
