"""Fixtures for the alerting tests: an in-memory store and an alert engine on the
test module's fake clock (`clock`, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from monitorx.alerting.engine import AlertEngine
from monitorx.core import FakeClock
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import DuckDBStorage, Storage
from monitorx.store.labelled_reads import InferenceByLabels
from monitorx.store.lifecycle import DataLifecycle, RetentionPolicy
from monitorx.store.metric_queries import MetricQueries
from monitorx.store.samples.catalog import SeriesCatalog
from monitorx.store.samples.hot import SampleHotTier
from monitorx.store.samples.service import CustomMetrics


@pytest.fixture
async def storage(clock: FakeClock) -> AsyncIterator[DuckDBStorage]:
    store = DuckDBStorage(":memory:", clock=clock)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def custom_metrics(storage: Storage, clock: FakeClock) -> CustomMetrics:
    """Custom metrics over ``storage`` as a server keeps them (series limit 10,000;
    the hot tier covers from the clock's start)."""
    hot = SampleHotTier(3600 * 1_000_000, 1_000_000, to_epoch_us(clock.now()))
    lifecycle = DataLifecycle(storage, RetentionPolicy(), clock)
    return CustomMetrics(storage, SeriesCatalog(10_000), hot, lifecycle, clock)


@pytest.fixture
def queries(storage: Storage, clock: FakeClock, custom_metrics: CustomMetrics) -> MetricQueries:
    """Grouped reads of inference and custom metrics over ``storage``."""
    lifecycle = DataLifecycle(storage, RetentionPolicy(), clock)
    return MetricQueries(InferenceByLabels(storage, lifecycle, clock), custom_metrics)


@pytest.fixture
def engine(storage: Storage, clock: FakeClock) -> AlertEngine:
    return AlertEngine(storage, clock, clear_period_s=300)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client
