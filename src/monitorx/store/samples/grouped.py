"""Aggregates per group and bucket over raw points, in numpy, as API.md defines them.

`GET /metrics/query` answers one series per group of label values; a group holds
the points of every series whose labels put it there. Buckets start at multiples
of the interval since the epoch; empty buckets are left out. The aggregations are
`Aggregation`'s (percentiles exact, linear interpolation, as numpy's default), and:

- ``last``: the value of the group's latest point in the bucket;
- ``rate``: the per-second increase of cumulative series (counters): for each
  series, the increase between consecutive points — a drop is a counter reset,
  after which the increase is the new value, as Prometheus counts it — goes to the
  bucket of the later point; the bucket's increases over the group's series are
  summed and divided by the interval. The first point a query sees of a series
  has nothing before it in the range to increase from.
"""

from __future__ import annotations

__all__ = ["GroupedPoints", "aggregate_grouped"]

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitorx.store.queries import QueryAggregation
from monitorx.store.series_stats import _sorted_quantile

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Group × bucket keys counted in one dense array (8 bytes each) rather than sorted.
_DENSE_KEYS = 4_000_000


@dataclass(frozen=True, slots=True)
class GroupedPoints:
    """Points of several series: each point's group, series, time (µs) and value.
    Within one series, points are in time order (`aggregate_grouped` needs it for
    ``rate``)."""

    group: I64
    series: I64
    ts_us: I64
    value: F64

    @staticmethod
    def empty() -> GroupedPoints:
        zeros = np.zeros(0, np.int64)
        return GroupedPoints(zeros, zeros, zeros, np.zeros(0, np.float64))

    @staticmethod
    def concat(parts: list[GroupedPoints]) -> GroupedPoints:
        if not parts:
            return GroupedPoints.empty()
        return GroupedPoints(
            np.concatenate([p.group for p in parts]),
            np.concatenate([p.series for p in parts]),
            np.concatenate([p.ts_us for p in parts]),
            np.concatenate([p.value for p in parts]),
        )

    def __len__(self) -> int:
        return int(self.ts_us.size)


def _increases(points: GroupedPoints) -> GroupedPoints:
    """Each point's increase over the previous point of its series (the first of a
    series has none and is left out), resets counted as Prometheus does."""
    order = np.lexsort((points.ts_us, points.series))
    series, ts, value = points.series[order], points.ts_us[order], points.value[order]
    same = np.r_[False, series[1:] == series[:-1]]
    delta = np.r_[0.0, np.diff(value)]
    increase = np.where(delta < 0, value, delta)
    return GroupedPoints(points.group[order][same], series[same], ts[same], increase[same])


def _dense_sums(index: I64, keep: I64 | None) -> Callable[[F64], F64]:
    def sums(weights: F64) -> F64:
        totals = np.bincount(index, weights=weights).astype(np.float64, copy=False)
        return totals if keep is None else totals[keep]

    return sums


def aggregate_grouped(
    points: GroupedPoints, agg: QueryAggregation, interval_us: int
) -> dict[int, list[tuple[int, float]]]:
    """Per group: (bucket start in µs, value) for each non-empty bucket, in time
    order. Points whose value is NaN are left out."""
    if agg is QueryAggregation.RATE:
        points = _increases(points)
    present = ~np.isnan(points.value)
    group, ts, value = points.group[present], points.ts_us[present], points.value[present]
    if ts.size == 0:
        return {}
    bucket = ts // interval_us
    low = int(bucket.min())
    width = int(bucket.max()) - low + 1
    key = group * width + (bucket - low)
    quantile = agg.quantile
    if agg in (QueryAggregation.COUNT, QueryAggregation.SUM, QueryAggregation.MEAN,
               QueryAggregation.RATE):  # fmt: skip
        # bincount needs no sort: a million points in a few milliseconds. Over a
        # key space too wide for one array, the keys are renumbered first (a sort).
        if int(group.max() + 1) * width <= _DENSE_KEYS:
            tally = np.bincount(key)
            keys = np.flatnonzero(tally).astype(np.int64)
            counts: F64 = tally[keys].astype(np.float64)
            sums_of = _dense_sums(key, keys)
        else:
            keys, inverse = np.unique(key, return_inverse=True)
            counts = np.bincount(inverse).astype(np.float64)
            sums_of = _dense_sums(inverse, None)
        if agg is QueryAggregation.COUNT:
            result = counts
        else:
            sums = sums_of(value)
            if agg is QueryAggregation.SUM:
                result = sums
            elif agg is QueryAggregation.MEAN:
                result = sums / counts
            else:
                result = sums / (interval_us / 1_000_000)
    else:
        if agg is QueryAggregation.LAST:
            order = np.lexsort((ts, key))
        elif quantile is not None:
            order = np.lexsort((value, key))
        else:
            order = np.argsort(key, kind="stable")
        key, value = key[order], value[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        keys = key[starts]
        if agg is QueryAggregation.MIN:
            result = np.minimum.reduceat(value, starts)
        elif agg is QueryAggregation.MAX:
            result = np.maximum.reduceat(value, starts)
        elif agg is QueryAggregation.LAST:
            result = value[np.r_[starts[1:], key.size] - 1]
        else:
            assert quantile is not None
            counts_i = np.diff(np.r_[starts, key.size])
            result = _sorted_quantile(value, starts, counts_i, quantile)
    found: dict[int, list[tuple[int, float]]] = {}
    groups, buckets = np.divmod(keys, width)
    for g, b, v in zip(groups.tolist(), (buckets + low).tolist(), result.tolist(), strict=True):
        found.setdefault(g, []).append((b * interval_us, v))
    return found
