"""Synthetic co-speech corpus with known beat and semantic gestures (SPEC section 4)."""
