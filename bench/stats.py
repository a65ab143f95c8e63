"""Small numeric helpers shared by the figures (no numpy needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["percentile", "ratio", "summary_ms"]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (``pct`` in 0..100); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def summary_ms(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50/p99/max (and count) of nanosecond samples, in milliseconds."""
    ordered = sorted(samples_ns)
    return {
        "count": float(len(ordered)),
        "p50_ms": percentile(ordered, 50) / 1e6,
        "p99_ms": percentile(ordered, 99) / 1e6,
        "max_ms": (ordered[-1] / 1e6) if ordered else math.nan,
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    if math.isnan(numerator) or math.isnan(denominator):
        return None
    return numerator / denominator
