from streams.config.thresholds import DetectionSettings

__all__ = ["DetectionSettings"]
