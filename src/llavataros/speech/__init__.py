"""Speech front-end: audio loading, transcription, forced alignment, word-time I/O."""

from llavataros.speech.align import Aligner, AlignerConfig, AlignmentFit
from llavataros.speech.audio import AudioClip, audio_duration, load_audio, load_clip
from llavataros.speech.frontend import FrontendConfig, read_transcript_argument, words_for_audio
from llavataros.speech.textgrid import load_textgrid
from llavataros.speech.transcribe import HeardSegment, Transcriber, TranscriberConfig
from llavataros.speech.words import Transcript, Word, load_words_json, save_words_json

__all__ = [
    "Aligner",
    "AlignerConfig",
    "AlignmentFit",
    "AudioClip",
    "FrontendConfig",
    "HeardSegment",
    "Transcriber",
    "TranscriberConfig",
    "Transcript",
    "Word",
    "audio_duration",
    "load_audio",
    "load_clip",
    "load_textgrid",
    "load_words_json",
    "read_transcript_argument",
    "save_words_json",
    "words_for_audio",
]
