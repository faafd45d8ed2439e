"""The gesture vocabulary: semantic classes and trigger words, body landmarks, detectors."""

from llavataros.gestures.classes import CLASS_NAMES, GESTURE_CLASSES, TRIGGER_TO_CLASS
from llavataros.gestures.detectors import DetectorConfig, detect_gestures, match_gestures
from llavataros.gestures.landmarks import body_frame, to_body

__all__ = [
    "CLASS_NAMES",
    "GESTURE_CLASSES",
    "TRIGGER_TO_CLASS",
    "DetectorConfig",
    "body_frame",
    "detect_gestures",
    "match_gestures",
    "to_body",
]
