"""Effective thresholds (model, then profile, then learned) and learning on a real
store: the minimum history, the refresh interval, and what the ingest path sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitorx.alerting.profiles.catalog import ThresholdProfileCatalog
from monitorx.alerting.profiles.profile import (
    ThresholdProfile,
    ThresholdSource,
    effective_thresholds,
)
from monitorx.core import Environment, FakeClock, ModelConfig, ModelType, Thresholds
from monitorx.store import Storage
from tests.alerting.rules.test_evaluation import columns

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def model(model_id: str = "m", env: str = "prod", **limits: float) -> ModelConfig:
    return ModelConfig(
        id=model_id,
        model_type=ModelType.TABULAR,
        name=model_id,
        environment=Environment(env),
        thresholds=Thresholds(**limits),
    )


def profile(body: object) -> ThresholdProfile:
    return ThresholdProfile.from_body(body, "tabular", "prod")


def test_the_model_wins_then_the_profile_then_learning() -> None:
    fixed = profile(
        {"thresholds": {"latency_ms": 100, "cpu_percent": 90}, "learn": {"memory_mb": {}}}
    )
    found = effective_thresholds(model(latency_ms=500), fixed, {})
    assert {k: (e.value, e.source) for k, e in found.items()} == {
        "latency_ms": (500.0, ThresholdSource.MODEL),
        "cpu_percent": (90.0, ThresholdSource.PROFILE),
        "memory_mb": (None, ThresholdSource.LEARNED),  # nothing learned yet: no check
    }
    assert effective_thresholds(model(), None, {}) == {}


async def history(storage: Storage, latencies: np.ndarray, model_id: str = "m") -> None:
    ages = np.linspace(60, 6 * 86400, latencies.size)
    times = [NOW - timedelta(seconds=float(a)) for a in ages]
    await storage.write_metrics(columns(model_id, times, latencies.tolist()))


async def test_learning_needs_the_minimum_history_then_follows_numpy(
    storage: Storage, clock: FakeClock
) -> None:
    catalog = ThresholdProfileCatalog(storage, clock, min_points=100, refresh_s=3600)
    await catalog.put(profile({"learn": {"latency_ms": {"aggregation": "p90", "factor": 2}}}))
    rng = np.random.default_rng(1)
    first = rng.lognormal(3, 0.4, 99)
    await history(storage, first)
    await catalog.learn_once([model()])
    (learned,) = catalog.effective(model()).values()
    assert learned.value is None and learned.learned is not None and learned.learned.points == 99
    assert catalog.thresholds_for(model()).is_empty()

    more = rng.lognormal(3, 0.4, 50)
    await history(storage, more)
    clock.advance(60)  # not yet due for a refresh, but a field without a value is
    await catalog.learn_once([model()])
    expected = 2 * float(np.percentile(np.concatenate([first, more]), 90))
    assert catalog.thresholds_for(model()).latency_ms == pytest.approx(expected, rel=1e-9)


async def test_a_learned_value_is_refreshed_only_when_due(
    storage: Storage, clock: FakeClock
) -> None:
    catalog = ThresholdProfileCatalog(storage, clock, min_points=10, refresh_s=3600)
    await catalog.put(profile({"learn": {"latency_ms": {"aggregation": "max", "factor": 1}}}))
    await history(storage, np.full(20, 100.0))
    await catalog.learn_once([model()])
    generation = catalog.generation
    await history(storage, np.full(20, 300.0), model_id="m")
    clock.advance(1800)
    await catalog.learn_once([model()])
    assert catalog.thresholds_for(model()).latency_ms == 100.0
    assert catalog.generation == generation  # nothing the ingest path reads changed
    clock.advance(1800)
    await catalog.learn_once([model()])
    assert catalog.thresholds_for(model()).latency_ms == 300.0
    assert catalog.generation > generation


async def test_changing_the_profile_relearns_and_a_model_value_stops_learning(
    storage: Storage, clock: FakeClock
) -> None:
    catalog = ThresholdProfileCatalog(storage, clock, min_points=10)
    await history(storage, np.arange(1.0, 101.0))
    await catalog.put(profile({"learn": {"latency_ms": {"aggregation": "max", "factor": 1}}}))
    await catalog.learn_once([model()])
    assert catalog.thresholds_for(model()).latency_ms == 100.0
    await catalog.put(profile({"learn": {"latency_ms": {"aggregation": "min", "factor": 3}}}))
    assert catalog.thresholds_for(model()).is_empty()  # the old value is not used
    await catalog.learn_once([model()])
    assert catalog.thresholds_for(model()).latency_ms == 3.0
    own = model(latency_ms=42)
    await catalog.learn_once([own])
    assert catalog.effective(own)["latency_ms"].source is ThresholdSource.MODEL
    assert catalog.effective(own)["latency_ms"].value == 42.0


async def test_profiles_are_kept_as_documents(storage: Storage, clock: FakeClock) -> None:
    catalog = ThresholdProfileCatalog(storage, clock)
    assert await catalog.put(profile({"thresholds": {"latency_ms": 100}}))
    assert not await catalog.put(profile({"thresholds": {"latency_ms": 120}}))
    again = ThresholdProfileCatalog(storage, clock)
    await again.load()
    (loaded,) = again.all()
    assert loaded.thresholds.latency_ms == 120.0
    await again.delete("tabular", "prod")
    assert await storage.list_documents("threshold_profile") == []
