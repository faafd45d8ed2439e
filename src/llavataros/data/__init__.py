"""Corpus indexing, take-level splits and training windows."""
