"""Percentiles recovered from histogram buckets, as Prometheus' ``histogram_quantile``.

A histogram keeps counts per bucket, not observations, so a percentile can only be
estimated: find the bucket in which the rank ``q × count`` falls and interpolate
linearly between its bounds, assuming the observations spread evenly inside it.
The rules are Prometheus' (``promql/quantile.go``), which users of OTLP and
Prometheus histograms already read their dashboards by:

- buckets are ``(lower, upper]``; the first bucket's lower bound is 0 when its upper
  bound is positive (an estimate in it falls between 0 and that bound), else the
  estimate is that upper bound;
- a rank in the last, unbounded bucket answers the highest finite bound;
- a histogram without observations, or without any finite bound, has no estimate.

When the point also carries the observed minimum and maximum (OTLP's optional
``min``/``max``), the estimate is clamped to them: it can then never be below
the smallest or above the largest observation.

Exponential histograms (OTLP's base-2 buckets) are read the same way: bucket
``i`` of scale ``s`` is ``(base**i, base**(i+1)]`` with ``base = 2**(2**-s)``,
negative buckets mirror the positive ones, and the zero bucket holds the values
within ``zero_threshold`` of 0.
"""

from __future__ import annotations

__all__ = [
    "QUANTILES",
    "Buckets",
    "bucket_quantiles",
    "explicit_buckets",
    "exponential_buckets",
]

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

# The percentiles stored for every histogram point, by the suffix of their sample.
QUANTILES: tuple[tuple[str, float], ...] = (
    (".p50", 0.50),
    (".p90", 0.90),
    (".p95", 0.95),
    (".p99", 0.99),
)


@dataclass(frozen=True, slots=True)
class Buckets:
    """Bucket ``i`` holds ``counts[i]`` observations in ``(lowers[i], uppers[i]]``,
    in increasing order; the last upper bound may be infinite."""

    lowers: list[float]
    uppers: list[float]
    counts: list[int]


def explicit_buckets(bounds: Sequence[float], counts: Sequence[int]) -> Buckets | None:
    """OTLP's explicit-bounds histogram (``len(counts) == len(bounds) + 1``), or None
    when the two do not fit together."""
    if len(counts) != len(bounds) + 1 or any(high <= low for low, high in pairwise(bounds)):
        return None
    uppers = [*bounds, math.inf]
    lowers = [-math.inf, *bounds]
    return Buckets(lowers, uppers, list(counts))


def exponential_buckets(
    scale: int,
    zero_count: int,
    zero_threshold: float,
    positive: tuple[int, Sequence[int]],
    negative: tuple[int, Sequence[int]],
) -> Buckets:
    """OTLP's exponential histogram as plain buckets, lowest first. ``positive`` and
    ``negative`` are each (offset, counts)."""
    base = 2.0 ** (2.0**-scale)
    lowers: list[float] = []
    uppers: list[float] = []
    counts: list[int] = []
    offset, negative_counts = negative
    for index in reversed(range(len(negative_counts))):
        # Negative bucket i holds (-base**(i+1), -base**i].
        lowers.append(-_power(base, offset + index + 1))
        uppers.append(-_power(base, offset + index))
        counts.append(negative_counts[index])
    if zero_count:
        lowers.append(-zero_threshold)
        uppers.append(zero_threshold)
        counts.append(zero_count)
    offset, positive_counts = positive
    for index, count in enumerate(positive_counts):
        lowers.append(_power(base, offset + index))
        uppers.append(_power(base, offset + index + 1))
        counts.append(count)
    return Buckets(lowers, uppers, counts)


def _power(base: float, exponent: int) -> float:
    try:
        return base**exponent
    except OverflowError:
        return math.inf


def bucket_quantiles(
    buckets: Buckets, quantiles: Sequence[float], low: float | None, high: float | None
) -> list[float | None]:
    """The estimate of each quantile (None where there is none). ``low``/``high``: the
    observed minimum and maximum when known."""
    total = sum(buckets.counts)
    if total <= 0 or not any(math.isfinite(u) for u in buckets.uppers):
        return [None] * len(quantiles)
    return [_quantile(buckets, q, total, low, high) for q in quantiles]


def _quantile(
    buckets: Buckets, q: float, total: int, low: float | None, high: float | None
) -> float | None:
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets.counts):
        if count == 0 or seen + count < rank:
            seen += count
            continue
        lower, upper = buckets.lowers[index], buckets.uppers[index]
        if math.isinf(upper):
            # Prometheus: the highest finite bound below this bucket.
            value = max((u for u in buckets.uppers[:index] if math.isfinite(u)), default=None)
            if value is None:
                value = lower if math.isfinite(lower) else None
        elif math.isinf(lower):
            value = upper if upper <= 0 else upper * (rank - seen) / count
        else:
            value = lower + (upper - lower) * (rank - seen) / count
        return _clamped(value, low, high)
    return _clamped(None, low, high)


def _clamped(value: float | None, low: float | None, high: float | None) -> float | None:
    if value is None:
        return None
    if low is not None and math.isfinite(low):
        value = max(value, low)
    if high is not None and math.isfinite(high):
        value = min(value, high)
    return value
