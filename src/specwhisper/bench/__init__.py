"""Benchmarks: the same clips, the same run, ratios measured against transformers' generate()."""

MODES = ("speculative", "cross", "beam", "peers", "v3", "longform", "batch")
