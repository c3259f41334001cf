"""Benchmark scripts (run them from the repository root, see each docstring) and their
shared harness."""
