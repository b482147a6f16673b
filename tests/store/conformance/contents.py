"""One of everything a project keeps, written in one go and checked whole: what a
restart must keep and another project must never see."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np
import pyarrow as pa

from monitorx.core import (
    Alert,
    AlertStatus,
    DriftMetric,
    Environment,
    MetricColumns,
    MetricName,
    ModelConfig,
    ModelType,
    Thresholds,
)
from monitorx.store import Aggregation, AlertQuery, MetricQuery, Resolution, Storage, metric_table
from tests.store.conformance.expected import (
    as_inference_metrics,
    assert_buckets_equal,
    assert_stats_equal,
    expected_buckets,
    expected_window_stats,
    rollup_rows,
    times_us,
)
from tests.store.conformance.samples import (
    EPOCH,
    MIDNIGHT,
    MODELS,
    NOW,
    at,
    random_alerts,
    random_drift,
    random_metrics,
    random_rollups,
)

DATA_START = NOW - timedelta(hours=3)
FAR_FUTURE = NOW + timedelta(days=365)
WHOLE = (EPOCH + timedelta(days=1), FAR_FUTURE)
MARKERS = ("rollup:1m", "rollup:1h", "retention")
_ROLLUP_BUCKETS = {
    Resolution.MINUTE: [MIDNIGHT + timedelta(minutes=m) for m in range(-3, 3)],
    Resolution.HOUR: [MIDNIGHT + timedelta(hours=h) for h in range(-2, 2)],
}


@dataclass
class Contents:
    """What a store of one project holds; empty by default."""

    metrics: MetricColumns = field(default_factory=MetricColumns)
    drift: list[DriftMetric] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    models: list[ModelConfig] = field(default_factory=list)
    rollups: dict[Resolution, pa.Table] = field(default_factory=dict)
    markers: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(MARKERS))


async def write_contents(storage: Storage, seed: int, prefix: str) -> Contents:
    """Write metrics, drift, alerts, models, rollups and markers, each distinct by
    ``prefix`` and ``seed``; return them."""
    rng = np.random.default_rng(seed)
    written = Contents(
        metrics=random_metrics(rng, 400, DATA_START, 3 * 3600, id_prefix=prefix),
        drift=random_drift(rng, 8, DATA_START, 3 * 3600),
        alerts=[
            a.evolve(id=f"{prefix}-{a.id}") for a in random_alerts(rng, 9, DATA_START, 3 * 3600)
        ],
        models=[
            ModelConfig(
                id=f"{prefix}-fraud",
                model_type=ModelType.TABULAR,
                name=f"{prefix} — fraud",
                environment=Environment.STAGING,
                thresholds=Thresholds(latency_ms=float(seed)),
                tags={"owner": prefix},
            ),
            ModelConfig(id=f"{prefix}-chat", model_type=ModelType.LLM, name=f"{prefix}-chat"),
        ],
        rollups={r: random_rollups(rng, buckets) for r, buckets in _ROLLUP_BUCKETS.items()},
        markers={name: f"{prefix}:{name}:{seed}" for name in MARKERS},
    )
    half = len(written.metrics) // 2
    await storage.write_metrics(metric_table(written.metrics).slice(0, half))
    await storage.write_metrics(metric_table(written.metrics).slice(half))
    for drift in written.drift:
        await storage.write_drift(drift)
    for alert in written.alerts:
        await storage.save_alert(alert)
    for model in written.models:
        await storage.save_model(model)
    for resolution, table in written.rollups.items():
        await storage.write_rollups(resolution, table)
    for name, value in written.markers.items():
        assert value is not None
        await storage.set_marker(name, value)
    return written


def with_metrics(contents: Contents, metrics: MetricColumns) -> Contents:
    return replace(contents, metrics=MetricColumns.concat([contents.metrics, metrics]))


async def assert_holds(storage: Storage, contents: Contents) -> None:
    """``storage`` holds exactly ``contents``: every query a server makes agrees."""
    metrics = contents.metrics
    assert await storage.query_metrics(MetricQuery(*WHOLE, 10_000)) == as_inference_metrics(metrics)
    assert (await storage.read_metrics_table(*WHOLE)).num_rows == len(metrics)
    bounds = await storage.metric_time_bounds()
    stamps = times_us(metrics)
    assert bounds == (None if not len(metrics) else (at(stamps.min()), at(stamps.max())))
    expected_stats = expected_window_stats(metrics, *WHOLE)
    assert_stats_equal(await storage.window_stats(*WHOLE), expected_stats)
    for model_id in MODELS:
        assert await storage.has_metrics(model_id) is (model_id in expected_stats)
        for metric, agg in (
            (MetricName.LATENCY, Aggregation.P99),
            (MetricName.CPU_PERCENT, Aggregation.MEAN),
        ):
            assert_buckets_equal(
                await storage.aggregate(model_id, metric, agg, 300, *WHOLE),
                expected_buckets(metrics, model_id, metric, agg, 300, *WHOLE),
                (model_id, metric, agg),
            )

    newest_drift = sorted(contents.drift, key=lambda d: d.timestamp, reverse=True)
    assert await storage.query_drift(MetricQuery(*WHOLE, 10_000)) == newest_drift

    assert sorted(await storage.list_models(), key=lambda m: m.id) == sorted(
        contents.models, key=lambda m: m.id
    )
    for model in contents.models:
        assert await storage.get_model(model.id) == model

    newest_alerts = sorted(contents.alerts, key=lambda a: a.started_at, reverse=True)
    assert await storage.list_alerts(AlertQuery(limit=10_000)) == newest_alerts
    active = [a for a in contents.alerts if a.status is not AlertStatus.RESOLVED]
    assert sorted(await storage.active_alerts(), key=lambda a: a.id) == sorted(
        active, key=lambda a: a.id
    )

    for resolution in (Resolution.MINUTE, Resolution.HOUR):
        found = await storage.read_rollups(resolution, *WHOLE)
        expected = contents.rollups.get(resolution)
        assert rollup_rows(found) == ([] if expected is None else rollup_rows(expected))

    for name, value in contents.markers.items():
        assert await storage.get_marker(name) == value, name
