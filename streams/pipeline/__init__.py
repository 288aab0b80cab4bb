"""Above the detectors: event time (clocks), the per-rider pipeline and the processor that drives them."""
