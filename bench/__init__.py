"""Benchmark of the form reader: a generator of rendered forms with ground truth, and a runner."""
