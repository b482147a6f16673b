"""Drift metrics reported by clients: `write_drift` and `query_drift`."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from monitorx.core import DriftMetric, DriftType, Severity
from monitorx.store import MetricQuery, Storage
from tests.store.conformance.samples import MODELS, NOW, random_drift

DATA_START = NOW - timedelta(hours=3)


def _newest_first(metrics: list[DriftMetric]) -> list[DriftMetric]:
    return sorted(metrics, key=lambda d: d.timestamp, reverse=True)


def _between(metrics: list[DriftMetric], start: datetime, end: datetime) -> list[DriftMetric]:
    return [d for d in metrics if start <= d.timestamp < end]


@pytest.fixture
async def written(storage: Storage) -> list[DriftMetric]:
    drift = random_drift(np.random.default_rng(31), 40, DATA_START, 3 * 3600)
    for metric in drift:
        await storage.write_drift(metric)
    return drift


async def test_every_field_reads_back_as_written(
    storage: Storage, written: list[DriftMetric]
) -> None:
    found = await storage.query_drift(MetricQuery(DATA_START, NOW, 10_000))

    assert found == _newest_first(written)
    assert {d.feature for d in found} >= {None, "país"}
    assert any(d.score is None for d in found)
    assert all(d.timestamp.utcoffset() == timedelta(0) for d in found)


async def test_limit_keeps_the_newest(storage: Storage, written: list[DriftMetric]) -> None:
    for limit in (1, 10, len(written) - 1, len(written), len(written) + 1):
        found = await storage.query_drift(MetricQuery(DATA_START, NOW, limit))
        assert found == _newest_first(written)[:limit], limit


async def test_model_filter_returns_that_model_alone(
    storage: Storage, written: list[DriftMetric]
) -> None:
    for model_id in MODELS:
        found = await storage.query_drift(MetricQuery(DATA_START, NOW, 10_000, model_id))
        assert found == _newest_first([d for d in written if d.model_id == model_id])
    assert await storage.query_drift(MetricQuery(DATA_START, NOW, 10_000, "never-seen")) == []


async def test_range_includes_its_start_and_excludes_its_end(
    storage: Storage, written: list[DriftMetric]
) -> None:
    start, end = NOW - timedelta(hours=2, microseconds=5), NOW - timedelta(minutes=30)
    edges = [
        DriftMetric(
            model_id=MODELS[0],
            drift_type=DriftType.FEATURE,
            confidence=0.93,
            severity=Severity.HIGH,
            timestamp=when,
            feature="edge",
            score=float(i),
        )
        for i, when in enumerate((start - timedelta(microseconds=1), start, end))
    ]
    for metric in edges:
        await storage.write_drift(metric)

    found = await storage.query_drift(MetricQuery(start, end, 10_000))

    assert found == _newest_first(_between([*written, *edges], start, end))
    assert [d.score for d in found if d.feature == "edge"] == [1.0]
    assert await storage.query_drift(MetricQuery(NOW, NOW + timedelta(days=1), 10)) == []
