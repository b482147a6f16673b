"""`aggregate`: every series under every aggregation, bucketed as API.md says.

Buckets start at multiples of the interval since the Unix epoch, whatever the
range's start; empty buckets are omitted; a point without the series is left out;
percentiles are numpy's default (linear interpolation) over the raw points.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from monitorx.core import MetricColumns, MetricName
from monitorx.store import Aggregation, Storage
from tests.store.conformance.expected import (
    assert_buckets_equal,
    bucket_mismatch,
    bucketed,
    expected_buckets,
    in_range,
    metric_values,
    series,
)
from tests.store.conformance.samples import MIDNIGHT, MODELS, NOW, one_metric, random_metrics

MODEL = MODELS[0]
DATA_START = NOW - timedelta(hours=3)
# Neither edge is aligned to any interval: the first bucket starts before the range.
START = DATA_START + timedelta(seconds=17, microseconds=250_000)
END = NOW - timedelta(seconds=61, microseconds=500_000)
# Seconds; 7 s is aligned to nothing but the epoch.
INTERVALS = (60, 300, 1, 3600, 7)


@pytest.fixture
async def written(storage: Storage) -> MetricColumns:
    """Points of three models over three hours across midnight; a burst of the
    aggregated model's points around midnight (many per one-second bucket); and
    points of it exactly at the range's edges, one microsecond inside and out."""
    rng = np.random.default_rng(11)
    spread = random_metrics(rng, 1_500, DATA_START, 3 * 3600, id_prefix="spread")
    burst = random_metrics(
        rng, 300, MIDNIGHT - timedelta(seconds=10), 20, models=[MODEL], id_prefix="burst"
    )
    one_us = timedelta(microseconds=1)
    edges = MetricColumns.concat(
        [
            one_metric(MODEL, when, f"edge-{i}", latency=10_000.0 + i, error=True)
            for i, when in enumerate((START - one_us, START, END - one_us, END))
        ]
    )
    await storage.write_metrics(spread)
    await storage.write_metrics(burst)
    await storage.write_metrics(edges)
    return MetricColumns.concat([spread, burst, edges])


@pytest.mark.parametrize("metric", list(MetricName))
async def test_buckets_equal_numpy_over_the_raw_points(
    storage: Storage, written: MetricColumns, metric: MetricName
) -> None:
    ts, values = series(written, MODEL, metric, START, END)
    assert ts.size > 100, "too few sample points carry the series"
    problems = []
    for agg in Aggregation:
        for interval_s in INTERVALS:
            found = await storage.aggregate(MODEL, metric, agg, interval_s, START, END)

            problem = bucket_mismatch(found, bucketed(ts, values, agg, interval_s))
            if problem is not None:
                problems.append(f"{agg} every {interval_s} s: {problem}")
    assert problems == []


async def test_count_counts_only_points_carrying_the_series(
    storage: Storage, written: MetricColumns
) -> None:
    in_window = in_range(written, START, END, MODEL)
    for metric in MetricName:
        found = await storage.aggregate(MODEL, metric, Aggregation.COUNT, 3600, START, END)

        carrying = int(np.count_nonzero(~np.isnan(metric_values(in_window, metric))))
        assert sum(b.value for b in found) == carrying, metric
        if metric not in (MetricName.ERROR_RATE, MetricName.LATENCY):
            assert carrying < len(in_window), metric  # the data does leave some points out


async def test_other_models_points_are_not_aggregated(
    storage: Storage, written: MetricColumns
) -> None:
    other = "chat.llm:2"
    found = await storage.aggregate(other, MetricName.LATENCY, Aggregation.MAX, 60, START, END)

    assert_buckets_equal(
        found, expected_buckets(written, other, MetricName.LATENCY, Aggregation.MAX, 60, START, END)
    )
    assert max(b.value for b in found) < 10_000.0  # the edge points are MODEL's
    unknown = await storage.aggregate(
        "never-seen", MetricName.LATENCY, Aggregation.COUNT, 60, START, END
    )
    assert unknown == []


async def test_a_series_no_point_carries_has_no_buckets(storage: Storage) -> None:
    columns = random_metrics(np.random.default_rng(12), 200, DATA_START, 3600, models=[MODEL])
    columns.memory_mb = [None] * len(columns)
    await storage.write_metrics(columns)

    for agg in Aggregation:
        found = await storage.aggregate(MODEL, MetricName.MEMORY_MB, agg, 60, DATA_START, NOW)
        assert found == [], agg


async def test_a_range_without_points_has_no_buckets(
    storage: Storage, written: MetricColumns
) -> None:
    before = (DATA_START - timedelta(days=1), DATA_START)
    after = (NOW, NOW + timedelta(hours=1))
    for metric in MetricName:
        for agg in Aggregation:
            assert await storage.aggregate(MODEL, metric, agg, 300, *before) == [], (metric, agg)
            assert await storage.aggregate(MODEL, metric, agg, 60, *after) == [], (metric, agg)


async def test_error_rate_takes_each_points_contribution(storage: Storage) -> None:
    # API.md: a flagged error counts 1.0 whatever error_rate says; otherwise the
    # point's error_rate; otherwise 0.0.
    minute = MIDNIGHT - timedelta(minutes=1)
    points = [
        one_metric(MODEL, minute + timedelta(seconds=1), "flagged", error=True, error_rate=0.2),
        one_metric(MODEL, minute + timedelta(seconds=2), "rated", error_rate=0.2),
        one_metric(MODEL, minute + timedelta(seconds=3), "clean"),
        one_metric(MODEL, minute + timedelta(seconds=4), "flagged-only", error=True),
        one_metric(MODEL, minute + timedelta(seconds=5), "rated-zero", error_rate=0.0),
    ]
    await storage.write_metrics(MetricColumns.concat(points))
    contributions = [1.0, 0.2, 0.0, 1.0, 0.0]

    for agg, expected in [
        (Aggregation.COUNT, 5.0),
        (Aggregation.MEAN, float(np.mean(contributions))),
        (Aggregation.MIN, 0.0),
        (Aggregation.MAX, 1.0),
        (Aggregation.P50, float(np.quantile(contributions, 0.5))),
        (Aggregation.P90, float(np.quantile(contributions, 0.9))),
    ]:
        found = await storage.aggregate(MODEL, MetricName.ERROR_RATE, agg, 60, minute, MIDNIGHT)
        assert_buckets_equal(found, [(minute, expected)], agg)
