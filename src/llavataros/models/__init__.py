"""Gesture model families (the new home of model code; see issue 10)."""
