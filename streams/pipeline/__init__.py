"""Above the detectors: event-time clocks, the per-rider pipeline, the processor."""
