"""Metrics, gesture detectors and evaluation (SPEC sections 4 and 5)."""
