"""Speech front-end: audio loading, transcription, forced alignment, word-time I/O."""
