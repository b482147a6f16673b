"""Statistics over raw points in numpy, exactly as API.md defines them.

Used by the in-memory hot tier and by the InfluxDB backend (InfluxQL's
``PERCENTILE()`` picks the nearest rank, while API.md asks for exact percentiles
with linear interpolation, numpy's default method; and an error rate is the mean
of per-point contributions — 1.0 if the point flags an error, else its
``error_rate`` if given, else 0.0 — a conditional InfluxQL has no expression for).
Quantiles follow numpy's own arithmetic (``numpy.quantile``'s ``_lerp``), so the
figures equal ``np.quantile(values, q)`` to the last bit.
"""

from __future__ import annotations

__all__ = [
    "bucket_aggregate",
    "error_contributions",
    "quantiles",
    "sorted_quantiles",
    "window_stats",
]

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from monitorx.store.queries import Aggregation, ModelWindowStats

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def error_contributions(error: npt.NDArray[np.bool_], error_rate: F64) -> F64:
    """Each point's contribution to an error rate (API.md); ``error_rate`` is NaN
    where the point did not give one."""
    return np.where(error, 1.0, np.where(np.isnan(error_rate), 0.0, error_rate))


def _lerp(low: F64, high: F64, t: F64) -> F64:
    """numpy's interpolation between neighbours, which rounds from the nearer one."""
    diff = high - low
    result: F64 = np.where(t >= 0.5, high - diff * (1 - t), low + diff * t)
    return result


def _sorted_quantile(ordered: F64, starts: I64, counts: I64, q: float) -> F64:
    """The ``q`` quantile of each group of ``ordered`` (each group sorted)."""
    virtual = (counts - 1) * q
    below = np.floor(virtual)
    gamma = virtual - below
    lo = below.astype(np.int64)
    hi = np.minimum(lo + 1, counts - 1)
    return _lerp(ordered[starts + lo], ordered[starts + hi], gamma)


# Up to this many buckets, each is sorted on its own (numpy's sort of one array is
# ~15x faster than a lexsort on two keys); past it, one lexsort beats the loop.
_SORT_EACH_UP_TO = 512


def _sorted_within(values: F64, bucket: I64, starts: I64, counts: I64) -> F64:
    """``values`` (grouped by ``bucket``, in bucket order) sorted within each bucket."""
    if starts.size == 1:
        return np.sort(values)
    if starts.size <= _SORT_EACH_UP_TO:
        spans = zip(starts.tolist(), counts.tolist(), strict=True)
        return np.concatenate([np.sort(values[s : s + c]) for s, c in spans])
    ordered: F64 = values[np.lexsort((values, bucket))]
    return ordered


def quantiles(values: F64, qs: Sequence[float]) -> list[float]:
    """Exact quantiles of ``values`` (not empty), linear interpolation."""
    return sorted_quantiles(np.sort(values), qs)


def sorted_quantiles(ordered: F64, qs: Sequence[float]) -> list[float]:
    """`quantiles` of values already in ascending order (not empty)."""
    one = np.zeros(1, np.int64)
    size = np.array([ordered.size], np.int64)
    return [float(_sorted_quantile(ordered, one, size, q)[0]) for q in qs]


def bucket_aggregate(
    ts_us: I64, values: F64, agg: Aggregation, interval_us: int
) -> list[tuple[int, float]]:
    """``agg`` over buckets that start at multiples of ``interval_us`` since the
    epoch: (bucket start in µs, value) for each non-empty bucket, in time order.
    Points whose value is NaN do not carry the metric and are left out."""
    present = ~np.isnan(values)
    ts_us, values = ts_us[present], values[present]
    if ts_us.size == 0:
        return []
    bucket = ts_us // interval_us
    if bucket.size > 1 and not bool(np.all(bucket[1:] >= bucket[:-1])):
        order = np.argsort(bucket, kind="stable")
        bucket, values = bucket[order], values[order]
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    counts = np.diff(np.r_[starts, bucket.size])
    quantile = agg.quantile
    if agg is Aggregation.COUNT:
        result = counts.astype(np.float64)
    elif agg is Aggregation.SUM:
        result = np.add.reduceat(values, starts)
    elif agg is Aggregation.MEAN:
        result = np.add.reduceat(values, starts) / counts
    elif agg is Aggregation.MIN:
        result = np.minimum.reduceat(values, starts)
    elif agg is Aggregation.MAX:
        result = np.maximum.reduceat(values, starts)
    else:
        assert quantile is not None
        ordered = _sorted_within(values, bucket, starts, counts)
        result = _sorted_quantile(ordered, starts, counts, quantile)
    return [(int(b) * interval_us, float(v)) for b, v in zip(bucket[starts], result, strict=True)]


def window_stats(model_id: str, latency: F64, error_rate: float) -> ModelWindowStats:
    """A model's stats over a window from its points' latencies (not empty) and
    their error rate."""
    p50, p95, p99 = quantiles(latency, (0.5, 0.95, 0.99))
    return ModelWindowStats(
        model_id=model_id,
        count=int(latency.size),
        latency_mean=float(latency.mean()),
        latency_p50=p50,
        latency_p95=p95,
        latency_p99=p99,
        latency_max=float(latency.max()),
        error_rate=error_rate,
    )
