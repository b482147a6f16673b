"""Time ranges across a UTC midnight and the end of a month: buckets fall on UTC
multiples of the interval, and an edge at midnight belongs to the day it starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitorx.core import MetricColumns, MetricName
from monitorx.store import Aggregation, MetricQuery, Storage
from tests.store.conformance.expected import (
    assert_buckets_equal,
    assert_stats_equal,
    expected_buckets,
    expected_window_stats,
    in_range,
)
from tests.store.conformance.samples import MIDNIGHT, MODELS, NOW, one_metric, random_metrics

DAY_S = 86_400
ONE_US = timedelta(microseconds=1)
MODEL = MODELS[0]


@pytest.fixture
async def ten_days(storage: Storage) -> MetricColumns:
    """Points over the ten days before NOW, which end March and begin April."""
    columns = random_metrics(
        np.random.default_rng(101), 1_500, NOW - timedelta(days=10), 10 * DAY_S
    )
    await storage.write_metrics(columns)
    return columns


async def test_daily_buckets_start_at_utc_midnight(
    storage: Storage, ten_days: MetricColumns
) -> None:
    start, end = NOW - timedelta(days=10), NOW

    for agg in (Aggregation.COUNT, Aggregation.MEAN, Aggregation.P50):
        found = await storage.aggregate(MODEL, MetricName.LATENCY, agg, DAY_S, start, end)

        expected = expected_buckets(ten_days, MODEL, MetricName.LATENCY, agg, DAY_S, start, end)
        assert_buckets_equal(found, expected, agg)
        assert all(b.time.time() == datetime.min.time() for b in found)
        assert {MIDNIGHT - timedelta(days=1), MIDNIGHT} <= {b.time for b in found}


async def test_ranges_over_a_month_end_equal_numpy(
    storage: Storage, ten_days: MetricColumns
) -> None:
    start, end = datetime(2026, 3, 29, 12, 30, tzinfo=UTC), NOW - timedelta(minutes=1)

    for interval_s in (3600, 6 * 3600, 7):
        for metric in (MetricName.LATENCY, MetricName.GPU_UTILIZATION):
            found = await storage.aggregate(MODEL, metric, Aggregation.P95, interval_s, start, end)
            expected = expected_buckets(
                ten_days, MODEL, metric, Aggregation.P95, interval_s, start, end
            )
            assert_buckets_equal(found, expected, (metric, interval_s))

    stats = await storage.window_stats(start, end)
    assert_stats_equal(stats, expected_window_stats(ten_days, start, end))
    found_metrics = await storage.query_metrics(MetricQuery(start, end, 10_000))
    assert len(found_metrics) == len(in_range(ten_days, start, end))


async def test_a_midnight_edge_belongs_to_the_day_it_starts(storage: Storage) -> None:
    points = {
        "last-of-march": MIDNIGHT - ONE_US,
        "midnight": MIDNIGHT,
        "first-after": MIDNIGHT + ONE_US,
    }
    await storage.write_metrics(
        MetricColumns.concat([one_metric(MODEL, when, name) for name, when in points.items()])
    )
    march = (MIDNIGHT - timedelta(hours=1), MIDNIGHT)
    april = (MIDNIGHT, MIDNIGHT + timedelta(hours=1))

    for (start, end), names in ((march, {"last-of-march"}), (april, {"midnight", "first-after"})):
        found = await storage.query_metrics(MetricQuery(start, end, 100))
        assert {m.request_id for m in found} == names, start
        table = await storage.read_metrics_table(start, end)
        assert set(table.column("request_id").to_pylist()) == names, start
        buckets = await storage.aggregate(
            MODEL, MetricName.LATENCY, Aggregation.COUNT, 3600, start, end
        )
        assert [(b.time, b.value) for b in buckets] == [(start, len(names))], start
        (stats,) = await storage.window_stats(start, end, MODEL)
        assert stats.count == len(names), start
        assert (await storage.error_window(MODEL, start, end)).count == len(names), start
