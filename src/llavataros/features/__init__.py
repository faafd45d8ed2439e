"""Frame-aligned model inputs: text (per-word LM vectors), audio, speaker/style ids."""

from llavataros.features.audio_encoders import (
    AudioEncoder,
    ProsodyFeatures,
    TransformersAudioEncoder,
)
from llavataros.features.cache import FeatureCache
from llavataros.features.frames import FeatureExtractor, FrameFeatures
from llavataros.features.speaker import AVATAROS_STYLES, SpeakerVocabulary, style_from_take_name
from llavataros.features.statistics import FeatureStatistics
from llavataros.features.text_encoders import (
    TextEncoder,
    TransformersTextEncoder,
    expand_words,
    frame_word_index,
    text_frames,
    words_to_frames,
)

__all__ = [
    "FeatureStatistics",
    "AVATAROS_STYLES",
    "AudioEncoder",
    "FeatureCache",
    "FeatureExtractor",
    "FrameFeatures",
    "ProsodyFeatures",
    "SpeakerVocabulary",
    "TextEncoder",
    "TransformersAudioEncoder",
    "TransformersTextEncoder",
    "expand_words",
    "frame_word_index",
    "style_from_take_name",
    "text_frames",
    "words_to_frames",
]
