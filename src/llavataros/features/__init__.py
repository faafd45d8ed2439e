"""Frame-aligned model inputs: text (per-word LM vectors), audio, speaker/style ids."""
