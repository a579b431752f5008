"""Benchmarks (not tests). Each script's docstring says what it measures; results live in docs/benchmarks.md."""
