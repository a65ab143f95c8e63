"""Benchmarks of the project's realtime server against the reference design.

``python -m bench.run`` (or ``make bench``) runs every figure and writes
BENCHMARKS.md; see that file for what each figure measures.
"""
