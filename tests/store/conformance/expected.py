"""What plain Python and numpy make of the data a test wrote.

Every expectation here follows API.md's rules with no store code: a backend
conforms when it agrees with numpy (exact percentiles with linear interpolation,
error-rate contributions, buckets at multiples of the interval since the epoch).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from monitorx.core import LLM_FIELDS, RESOURCE_FIELDS, InferenceMetric, MetricColumns, MetricName
from monitorx.store import Aggregation, Bucket, ModelWindowStats
from tests.store.conformance.samples import F64, I64, at, us

# Relative tolerance between a backend's floating-point sums and numpy's.
REL = 1e-9


def select(columns: MetricColumns, keep: Sequence[bool] | npt.NDArray[np.bool_]) -> MetricColumns:
    """The metrics of ``columns`` where ``keep`` is true, in the same order."""
    picked = MetricColumns()
    for name in MetricColumns.__dataclass_fields__:
        source = getattr(columns, name)
        getattr(picked, name).extend(v for v, k in zip(source, keep, strict=True) if k)
    return picked


def times_us(columns: MetricColumns) -> I64:
    """The metrics' timestamps, microseconds since the epoch."""
    return np.asarray(columns.ts_us, dtype=np.int64)


def in_range(
    columns: MetricColumns, start: datetime, end: datetime, model_id: str | None = None
) -> MetricColumns:
    """The metrics in ``[start, end)`` (of one model when given)."""
    ts = times_us(columns)
    keep = (ts >= us(start)) & (ts < us(end))
    if model_id is not None:
        keep &= np.asarray(columns.model_id) == model_id
    return select(columns, keep)


def as_inference_metrics(columns: MetricColumns) -> list[InferenceMetric]:
    """What reading ``columns`` back must give, newest first."""
    found = [
        InferenceMetric(
            model_id=columns.model_id[i],
            model_type=columns.model_type[i],
            request_id=columns.request_id[i],
            timestamp=at(columns.ts_us[i]),
            latency=columns.latency[i],
            throughput=columns.throughput[i],
            error_rate=columns.error_rate[i],
            error=columns.error[i],
            resource_usage={
                name: value
                for name in RESOURCE_FIELDS
                if (value := getattr(columns, name)[i]) is not None
            },
            tags=json.loads(tags) if (tags := columns.tags_json[i]) else {},
            llm={
                name: value
                for name in LLM_FIELDS
                if (value := getattr(columns, name)[i]) is not None
            },
        )
        for i in range(len(columns))
    ]
    return sorted(found, key=lambda m: m.timestamp, reverse=True)


def error_contributions(columns: MetricColumns) -> F64:
    """Each metric's contribution to an error rate (API.md): 1.0 if it flags an
    error, else its own error_rate if given, else 0.0."""
    return np.array(
        [
            1.0 if error else (rate if rate is not None else 0.0)
            for error, rate in zip(columns.error, columns.error_rate, strict=True)
        ],
        dtype=np.float64,
    )


def metric_values(columns: MetricColumns, metric: MetricName) -> F64:
    """One value per metric, NaN where the metric does not carry the series."""
    if metric is MetricName.ERROR_RATE:
        return error_contributions(columns)
    raw = getattr(columns, metric.value)
    return np.array([np.nan if v is None else v for v in raw], dtype=np.float64)


def numpy_aggregate(values: F64, agg: Aggregation) -> float:
    """``agg`` of ``values`` by numpy: quantiles by its default (linear) method."""
    quantile = agg.quantile
    if quantile is not None:
        # Every quantile of one value is that value; np.quantile costs ~0.1 ms a call.
        return float(values[0]) if values.size == 1 else float(np.quantile(values, quantile))
    reduce = {
        Aggregation.COUNT: lambda v: float(v.size),
        Aggregation.SUM: np.sum,
        Aggregation.MEAN: np.mean,
        Aggregation.MIN: np.min,
        Aggregation.MAX: np.max,
    }[agg]
    return float(reduce(values))


def series(
    columns: MetricColumns, model_id: str, metric: MetricName, start: datetime, end: datetime
) -> tuple[I64, F64]:
    """Times (µs) and values of the points of ``model_id`` in ``[start, end)`` that
    carry ``metric``."""
    chosen = in_range(columns, start, end, model_id)
    values = metric_values(chosen, metric)
    present = ~np.isnan(values)
    return times_us(chosen)[present], values[present]


def bucketed(
    ts: I64, values: F64, agg: Aggregation, interval_s: float
) -> list[tuple[datetime, float]]:
    """(bucket start, value) per non-empty bucket, in time order; buckets start at
    multiples of the interval since the epoch."""
    interval_us = round(interval_s * 1_000_000)
    order = np.argsort(ts, kind="stable")
    buckets, values = (ts[order] // interval_us) * interval_us, values[order]
    if not buckets.size:
        return []
    firsts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    return [
        (at(int(b)), numpy_aggregate(group, agg))
        for b, group in zip(buckets[firsts], np.split(values, firsts[1:]), strict=True)
    ]


def expected_buckets(
    columns: MetricColumns,
    model_id: str,
    metric: MetricName,
    agg: Aggregation,
    interval_s: float,
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, float]]:
    """What `Storage.aggregate` must answer for the points in ``columns``."""
    return bucketed(*series(columns, model_id, metric, start, end), agg, interval_s)


def bucket_mismatch(
    found: Sequence[Bucket], expected: Sequence[tuple[datetime, float]]
) -> str | None:
    """How ``found`` differs from ``expected`` (times exact, values within `REL`),
    or None when it does not."""
    found_times, expected_times = [b.time for b in found], [t for t, _ in expected]
    if found_times != expected_times:
        missing = sorted(set(expected_times) - set(found_times))[:3]
        extra = sorted(set(found_times) - set(expected_times))[:3]
        return (
            f"{len(found)} buckets, expected {len(expected)}; "
            f"missing e.g. {[t.isoformat() for t in missing]}, "
            f"unexpected e.g. {[t.isoformat() for t in extra]}"
        )
    for bucket, (_, value) in zip(found, expected, strict=True):
        if bucket.value != pytest.approx(value, rel=REL):
            return f"bucket {bucket.time.isoformat()}: {bucket.value!r}, expected {value!r}"
    return None


def assert_buckets_equal(
    found: Sequence[Bucket], expected: Sequence[tuple[datetime, float]], context: object = ""
) -> None:
    """Bucket times exactly as expected, values within `REL` of numpy's."""
    problem = bucket_mismatch(found, expected)
    assert problem is None, f"{context}: {problem}" if context else problem


def expected_window_stats(
    columns: MetricColumns, start: datetime, end: datetime
) -> dict[str, ModelWindowStats]:
    """`ModelWindowStats` by model, for each model with metrics in ``[start, end)``."""
    chosen = in_range(columns, start, end)
    stats = {}
    for model_id in sorted(set(chosen.model_id)):
        mine = in_range(chosen, start, end, model_id)
        latency = np.asarray(mine.latency, dtype=np.float64)
        p50, p95, p99 = (float(q) for q in np.quantile(latency, [0.5, 0.95, 0.99]))
        stats[model_id] = ModelWindowStats(
            model_id=model_id,
            count=len(mine),
            latency_mean=float(latency.mean()),
            latency_p50=p50,
            latency_p95=p95,
            latency_p99=p99,
            latency_max=float(latency.max()),
            error_rate=float(error_contributions(mine).mean()),
        )
    return stats


_STAT_FIELDS = (
    "latency_mean",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "latency_max",
    "error_rate",
)


def assert_stats_equal(
    found: Sequence[ModelWindowStats], expected: dict[str, ModelWindowStats]
) -> None:
    """One entry per model of ``expected``, counts exact, statistics within `REL`."""
    assert sorted(s.model_id for s in found) == sorted(expected)
    for stats in found:
        want = expected[stats.model_id]
        assert stats.count == want.count, stats.model_id
        for name in _STAT_FIELDS:
            assert getattr(stats, name) == pytest.approx(getattr(want, name), rel=REL), (
                f"{stats.model_id}: {name}"
            )


def rollup_rows(table: pa.Table) -> list[dict[str, object]]:
    """A rollup table's rows in one canonical order, to compare tables as sets."""
    return sorted(
        table.to_pylist(), key=lambda r: (r["bucket"], r["model_id"], r["metric"], r["tags"])
    )
