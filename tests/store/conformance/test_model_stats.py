"""What summaries and alert rules ask of a store: `window_stats`, `error_window`,
`has_metrics`, and `purge_model_data` when a model is deleted with its data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from monitorx.core import MetricColumns, MetricName
from monitorx.store import (
    Aggregation,
    AlertQuery,
    ErrorWindow,
    MetricQuery,
    Storage,
)
from tests.store.conformance.expected import (
    REL,
    as_inference_metrics,
    assert_stats_equal,
    error_contributions,
    expected_window_stats,
    in_range,
)
from tests.store.conformance.samples import (
    MODELS,
    NOW,
    one_metric,
    random_alerts,
    random_drift,
    random_metrics,
)

DATA_START = NOW - timedelta(hours=3)
# Ranges a summary asks for: one holding every point the store has, and one
# holding some points of each model (the embedded hot tier answers the two apart).
WINDOWS = {
    "every point": (DATA_START - timedelta(days=1), NOW + timedelta(days=1)),
    "some points": (
        DATA_START + timedelta(minutes=45, microseconds=7),
        NOW - timedelta(minutes=50),
    ),
}


@pytest.fixture
async def written(storage: Storage) -> MetricColumns:
    rng = np.random.default_rng(21)
    columns = random_metrics(rng, 1_200, DATA_START, 3 * 3600)
    # A model whose points all lie before the partial window.
    early = random_metrics(rng, 30, DATA_START, 600, models=["early-only"], id_prefix="early")
    await storage.write_metrics(columns)
    await storage.write_metrics(early)
    return MetricColumns.concat([columns, early])


@pytest.mark.parametrize("window", list(WINDOWS))
async def test_window_stats_of_all_models_and_of_each_equal_numpy(
    storage: Storage, written: MetricColumns, window: str
) -> None:
    start, end = WINDOWS[window]
    expected = expected_window_stats(written, start, end)

    assert_stats_equal(await storage.window_stats(start, end), expected)
    for model_id in MODELS:
        found = await storage.window_stats(start, end, model_id=model_id)
        assert_stats_equal(found, {model_id: expected[model_id]})


async def test_a_model_without_points_in_the_window_has_no_stats(
    storage: Storage, written: MetricColumns
) -> None:
    # A summary takes any entry as proof that the model exists (404 otherwise).
    start, end = WINDOWS["some points"]

    assert await storage.window_stats(start, end, model_id="early-only") == []
    assert await storage.window_stats(start, end, model_id="never-seen") == []
    assert "early-only" not in {s.model_id for s in await storage.window_stats(start, end)}
    assert await storage.window_stats(NOW, NOW + timedelta(hours=1)) == []


async def test_window_stats_range_includes_start_and_excludes_end(storage: Storage) -> None:
    start, end = NOW - timedelta(minutes=10), NOW - timedelta(minutes=5)
    points = [
        one_metric("edges", start - timedelta(microseconds=1), "before", latency=1_000.0),
        one_metric("edges", start, "at-start", latency=10.0),
        one_metric("edges", start + timedelta(minutes=1), "inside", latency=20.0, error=True),
        one_metric("edges", end, "at-end", latency=5_000.0, error=True),
    ]
    await storage.write_metrics(MetricColumns.concat(points))

    (stats,) = await storage.window_stats(start, end, model_id="edges")

    assert (stats.count, stats.latency_max, stats.latency_mean) == (2, 20.0, 15.0)
    assert stats.error_rate == pytest.approx(0.5, rel=REL)


async def test_error_window_counts_metrics_and_averages_contributions(
    storage: Storage, written: MetricColumns
) -> None:
    for window, (start, end) in WINDOWS.items():
        for model_id in [*MODELS, "early-only"]:
            found = await storage.error_window(model_id, start, end)

            mine = in_range(written, start, end, model_id)
            assert found.count == len(mine), (window, model_id)
            if len(mine):
                expected = float(error_contributions(mine).mean())
                assert found.error_rate == pytest.approx(expected, rel=REL), (window, model_id)
            else:
                assert found.error_rate is None, (window, model_id)


async def test_error_window_of_a_model_without_points_is_empty(storage: Storage) -> None:
    assert await storage.error_window("never-seen", DATA_START, NOW) == ErrorWindow(0, None)


async def test_has_metrics_tells_whether_a_model_ever_sent_any(
    storage: Storage, written: MetricColumns
) -> None:
    for model_id in [*MODELS, "early-only"]:
        assert await storage.has_metrics(model_id) is True, model_id
    assert await storage.has_metrics("never-seen") is False
    assert await storage.has_metrics("fraud") is False  # a prefix is not the model


async def test_purge_removes_the_models_data_and_keeps_the_others(
    storage: Storage, written: MetricColumns
) -> None:
    rng = np.random.default_rng(22)
    drift = random_drift(rng, 24, DATA_START, 3 * 3600)
    alerts = random_alerts(rng, 15, DATA_START, 3 * 3600)
    for metric in drift:
        await storage.write_drift(metric)
    for alert in alerts:
        await storage.save_alert(alert)
    gone, kept = MODELS[0], [m for m in MODELS if m != MODELS[0]]
    assert any(d.model_id == gone for d in drift) and any(a.model_id == gone for a in alerts)
    whole = (DATA_START - timedelta(days=1), NOW + timedelta(days=1))

    await storage.purge_model_data(gone)

    assert await storage.has_metrics(gone) is False
    assert await storage.query_metrics(MetricQuery(*whole, 10_000, gone)) == []
    assert await storage.window_stats(*whole, model_id=gone) == []
    assert await storage.error_window(gone, *whole) == ErrorWindow(0, None)
    for agg in (Aggregation.COUNT, Aggregation.P95):
        assert await storage.aggregate(gone, MetricName.LATENCY, agg, 60, *whole) == []
    assert await storage.query_drift(MetricQuery(*whole, 10_000, gone)) == []
    assert await storage.list_alerts(AlertQuery(limit=10_000, model_id=gone)) == []
    assert all(a.model_id != gone for a in await storage.active_alerts())
    for alert in alerts:
        if alert.model_id == gone:
            assert await storage.get_alert(alert.id) is None

    for model_id in [*kept, "early-only"]:
        assert await storage.query_metrics(MetricQuery(*whole, 10_000, model_id)) == (
            as_inference_metrics(in_range(written, *whole, model_id))
        )
        assert await storage.has_metrics(model_id) is True
    assert_stats_equal(
        await storage.window_stats(*whole),
        {k: v for k, v in expected_window_stats(written, *whole).items() if k != gone},
    )
    remaining_drift = await storage.query_drift(MetricQuery(*whole, 10_000))
    assert remaining_drift == sorted(
        (d for d in drift if d.model_id != gone), key=lambda d: d.timestamp, reverse=True
    )
    remaining_alerts = await storage.list_alerts(AlertQuery(limit=10_000))
    assert sorted(a.id for a in remaining_alerts) == sorted(
        a.id for a in alerts if a.model_id != gone
    )
