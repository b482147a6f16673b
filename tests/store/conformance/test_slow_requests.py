"""`error_window(..., latency_over=X)`: how many of a window's metrics were slower
than an SLO's latency target, strictly (a request exactly at the target meets it)."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from monitorx.core import MetricColumns
from monitorx.store import ErrorWindow, Storage
from tests.store.conformance.expected import REL, error_contributions, in_range
from tests.store.conformance.samples import MODELS, NOW, one_metric, random_metrics

DATA_START = NOW - timedelta(hours=3)
# A window holding every point, and one holding some of each model's (the embedded
# hot tier answers the two apart).
WINDOWS = {
    "every point": (DATA_START - timedelta(days=1), NOW + timedelta(days=1)),
    "some points": (
        DATA_START + timedelta(minutes=45, microseconds=7),
        NOW - timedelta(minutes=50),
    ),
}


@pytest.fixture
async def written(storage: Storage) -> MetricColumns:
    columns = random_metrics(np.random.default_rng(31), 1_500, DATA_START, 3 * 3600)
    await storage.write_metrics(columns)
    return columns


def targets(latency: list[float]) -> list[float]:
    """Latency targets to ask about: quantiles of the data, values a point has
    exactly, beyond both ends, and numbers whose shortest text has an exponent."""
    values = np.asarray(latency)
    return [
        *(float(q) for q in np.quantile(values, (0.01, 0.5, 0.9, 0.99))),
        *(float(v) for v in values[:5]),
        float(values.min()),
        float(values.max()),
        0.0,
        -12.5,
        1e-7,
        1.5e20,
    ]


@pytest.mark.parametrize("window", list(WINDOWS))
async def test_slow_counts_latencies_strictly_above_the_target(
    storage: Storage, written: MetricColumns, window: str
) -> None:
    start, end = WINDOWS[window]
    for model_id in MODELS:
        mine = in_range(written, start, end, model_id)
        latency = np.asarray(mine.latency)
        assert len(mine), model_id
        for target in targets(mine.latency):
            found = await storage.error_window(model_id, start, end, latency_over=target)

            assert found.slow == int(np.count_nonzero(latency > target)), (model_id, target)
            # The rest of the answer is what it is without a target.
            assert found.count == len(mine)
            expected_rate = float(error_contributions(mine).mean())
            assert found.error_rate == pytest.approx(expected_rate, rel=REL)


async def test_without_a_target_nothing_counts_as_slow(
    storage: Storage, written: MetricColumns
) -> None:
    start, end = WINDOWS["every point"]
    for model_id in MODELS:
        found = await storage.error_window(model_id, start, end)
        assert found.slow == 0
        assert found.count == len(in_range(written, start, end, model_id))
        assert await storage.error_window(model_id, start, end, latency_over=None) == found


async def test_a_request_exactly_at_the_target_is_not_slow(storage: Storage) -> None:
    start = NOW - timedelta(minutes=10)
    points = [
        one_metric("slo", start + timedelta(seconds=i), f"r{i}", latency=latency)
        for i, latency in enumerate((199.999, 200.0, 200.0, 200.001, 350.25))
    ]
    await storage.write_metrics(MetricColumns.concat(points))

    for target, slow in ((200.0, 2), (199.999, 4), (350.25, 0), (350.0, 1), (0.1, 5)):
        found = await storage.error_window("slo", start, NOW, latency_over=target)
        assert found == ErrorWindow(5, 0.0, slow), target


async def test_the_window_bounds_the_slow_count(storage: Storage) -> None:
    start, end = NOW - timedelta(minutes=10), NOW - timedelta(minutes=5)
    points = [
        one_metric("edges", start - timedelta(microseconds=1), "before", latency=900.0),
        one_metric("edges", start, "at-start", latency=800.0),
        one_metric("edges", start + timedelta(minutes=1), "inside", latency=10.0),
        one_metric("edges", end, "at-end", latency=700.0),
    ]
    await storage.write_metrics(MetricColumns.concat(points))

    found = await storage.error_window("edges", start, end, latency_over=100.0)

    assert (found.count, found.slow) == (2, 1)


async def test_targets_beyond_the_finite_numbers(storage: Storage) -> None:
    start = NOW - timedelta(minutes=10)
    points = [
        one_metric("slo", start + timedelta(seconds=i), f"r{i}", latency=float(latency))
        for i, latency in enumerate((0.0, 5.0, 1e6))
    ]
    await storage.write_metrics(MetricColumns.concat(points))

    for target, slow in ((math.inf, 0), (-math.inf, 3), (math.nan, 0)):
        found = await storage.error_window("slo", start, NOW, latency_over=target)
        assert (found.count, found.slow) == (3, slow), target


async def test_a_model_without_points_has_none_slow(storage: Storage) -> None:
    found = await storage.error_window("never-seen", DATA_START, NOW, latency_over=1.0)
    assert found == ErrorWindow(0, None, 0)
