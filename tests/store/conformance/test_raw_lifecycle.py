"""What the lifecycle jobs need of raw points: `read_metrics_table`,
`metric_time_bounds`, `delete_metrics_before`, and the markers that keep their
watermarks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from monitorx.core import MetricColumns, MetricName, ModelConfig, ModelType
from monitorx.store import (
    METRIC_BATCH_SCHEMA,
    Aggregation,
    AlertQuery,
    MetricQuery,
    Storage,
    metric_table,
)
from tests.store.conformance.contents import FAR_FUTURE
from tests.store.conformance.expected import (
    as_inference_metrics,
    assert_buckets_equal,
    expected_buckets,
    expected_window_stats,
    in_range,
    select,
    times_us,
)
from tests.store.conformance.samples import (
    EPOCH,
    MIDNIGHT,
    MODELS,
    NOW,
    one_metric,
    random_alerts,
    random_drift,
    random_metrics,
    us,
)

TEN_DAYS_AGO = NOW - timedelta(days=10)


def _rows(table: pa.Table) -> list[dict[str, object]]:
    """A metric table's rows, tags as the JSON object they mean: its text may
    differ, and no tags may read back as null or as ``{}``."""
    return [{**row, "tags": json.loads(row["tags"] or "{}")} for row in table.to_pylist()]


def _oldest_first(columns: MetricColumns) -> pa.Table:
    return metric_table(columns).sort_by("ts")


@pytest.fixture
async def ten_days(storage: Storage) -> MetricColumns:
    """Points of three models spread over the ten days before NOW (crossing the end
    of March), written in several batches."""
    columns = random_metrics(np.random.default_rng(51), 2_000, TEN_DAYS_AGO, 10 * 86400)
    for part in range(4):
        keep = [i % 4 == part for i in range(len(columns))]
        await storage.write_metrics(metric_table(select(columns, keep)))
    return columns


# read_metrics_table --------------------------------------------------------------


async def test_metrics_table_has_the_batch_schema_and_every_point_oldest_first(
    storage: Storage, ten_days: MetricColumns
) -> None:
    found = await storage.read_metrics_table(TEN_DAYS_AGO, NOW)

    assert found.schema.equals(METRIC_BATCH_SCHEMA)
    assert _rows(found) == _rows(_oldest_first(ten_days))
    stamps = found.column("ts").cast(pa.int64()).to_numpy()
    assert (np.diff(stamps) > 0).all()


async def test_metrics_table_range_includes_start_and_excludes_end(
    storage: Storage, ten_days: MetricColumns
) -> None:
    stamps = np.sort(times_us(ten_days))
    start_us, end_us = int(stamps[500]), int(stamps[1_500])  # points exactly on both edges
    start, end = EPOCH + timedelta(microseconds=start_us), EPOCH + timedelta(microseconds=end_us)

    found = await storage.read_metrics_table(start, end)

    assert _rows(found) == _rows(_oldest_first(in_range(ten_days, start, end)))
    assert found.num_rows == 1_000


async def test_metrics_table_filters_by_model(storage: Storage, ten_days: MetricColumns) -> None:
    start, end = MIDNIGHT - timedelta(days=3), MIDNIGHT + timedelta(hours=1)
    for model_id in MODELS:
        found = await storage.read_metrics_table(start, end, model_id)
        assert found.schema.equals(METRIC_BATCH_SCHEMA)
        assert _rows(found) == _rows(_oldest_first(in_range(ten_days, start, end, model_id)))


async def test_metrics_table_of_an_empty_range_is_empty(
    storage: Storage, ten_days: MetricColumns
) -> None:
    for found in (
        await storage.read_metrics_table(NOW, FAR_FUTURE),
        await storage.read_metrics_table(TEN_DAYS_AGO, NOW, "never-seen"),
    ):
        assert found.num_rows == 0
        assert found.schema.equals(METRIC_BATCH_SCHEMA)


# metric_time_bounds --------------------------------------------------------------


async def test_time_bounds_are_none_without_metrics(storage: Storage) -> None:
    assert await storage.metric_time_bounds() is None


async def test_time_bounds_are_the_oldest_and_newest_points(
    storage: Storage, ten_days: MetricColumns
) -> None:
    stamps = times_us(ten_days)

    bounds = await storage.metric_time_bounds()

    assert bounds is not None
    assert (us(bounds[0]), us(bounds[1])) == (int(stamps.min()), int(stamps.max()))


# delete_metrics_before -----------------------------------------------------------


@pytest.mark.parametrize(
    "cutoff",
    [MIDNIGHT - timedelta(days=4), MIDNIGHT - timedelta(days=6, hours=5, microseconds=3)],
    ids=["at a midnight", "mid-day"],
)
async def test_deleting_before_a_cutoff_keeps_the_points_at_and_after_it(
    storage: Storage, ten_days: MetricColumns, cutoff: datetime
) -> None:
    edges = MetricColumns.concat(
        [
            one_metric(MODELS[0], cutoff - timedelta(microseconds=1), "just-before"),
            one_metric(MODELS[0], cutoff, "at-cutoff"),
        ]
    )
    await storage.write_metrics(edges)
    everything = MetricColumns.concat([ten_days, edges])
    kept = in_range(everything, cutoff, FAR_FUTURE)

    await storage.delete_metrics_before(cutoff)

    assert _rows(await storage.read_metrics_table(EPOCH, FAR_FUTURE)) == _rows(_oldest_first(kept))
    bounds = await storage.metric_time_bounds()
    assert bounds is not None and bounds[0] == cutoff
    assert bounds[1] == EPOCH + timedelta(microseconds=int(times_us(everything).max()))
    newest = await storage.query_metrics(MetricQuery(EPOCH, FAR_FUTURE, 10_000))
    assert newest == as_inference_metrics(kept)
    # Aggregates and summaries over the whole range see only what is left.
    whole = (TEN_DAYS_AGO - timedelta(days=1), NOW)
    for agg in (Aggregation.COUNT, Aggregation.P99):
        assert_buckets_equal(
            await storage.aggregate(MODELS[0], MetricName.LATENCY, agg, 3600, *whole),
            expected_buckets(kept, MODELS[0], MetricName.LATENCY, agg, 3600, *whole),
            agg,
        )
    stats = {s.model_id: s.count for s in await storage.window_stats(*whole)}
    assert stats == {m: s.count for m, s in expected_window_stats(kept, *whole).items()}
    window = await storage.error_window(MODELS[0], *whole)
    assert window.count == len(in_range(kept, *whole, MODELS[0]))


async def test_deleting_before_a_cutoff_drops_older_drift_too(storage: Storage) -> None:
    drift = random_drift(np.random.default_rng(52), 30, TEN_DAYS_AGO, 10 * 86400)
    for metric in drift:
        await storage.write_drift(metric)
    cutoff = sorted(d.timestamp for d in drift)[12]  # a drift metric exactly at the cutoff

    await storage.delete_metrics_before(cutoff)

    found = await storage.query_drift(MetricQuery(EPOCH, FAR_FUTURE, 10_000))
    kept = [d for d in drift if d.timestamp >= cutoff]
    assert found == sorted(kept, key=lambda d: d.timestamp, reverse=True)
    assert len(found) == 18


async def test_deleting_old_metrics_keeps_alerts_and_models(
    storage: Storage, ten_days: MetricColumns
) -> None:
    alerts = random_alerts(np.random.default_rng(53), 10, TEN_DAYS_AGO, 86400)
    for alert in alerts:
        await storage.save_alert(alert)
    model = ModelConfig(id=MODELS[0], model_type=ModelType.TABULAR, name="registered")
    await storage.save_model(model)

    await storage.delete_metrics_before(NOW)

    assert await storage.metric_time_bounds() is None
    assert await storage.query_metrics(MetricQuery(EPOCH, FAR_FUTURE, 10_000)) == []
    assert await storage.has_metrics(MODELS[0]) is False
    listed = await storage.list_alerts(AlertQuery(limit=10_000))
    assert sorted(a.id for a in listed) == sorted(a.id for a in alerts)
    assert await storage.list_models() == [model]


async def test_deleting_before_the_oldest_point_deletes_nothing(
    storage: Storage, ten_days: MetricColumns
) -> None:
    await storage.delete_metrics_before(TEN_DAYS_AGO)

    everything = await storage.read_metrics_table(EPOCH, FAR_FUTURE)
    assert _rows(everything) == _rows(_oldest_first(ten_days))


# Markers -------------------------------------------------------------------------


async def test_an_unset_marker_is_none(storage: Storage) -> None:
    assert await storage.get_marker("rollup:1m") is None


async def test_a_marker_keeps_the_last_value_set(storage: Storage) -> None:
    await storage.set_marker("rollup:1m", "2026-03-31T23:59:00Z")
    await storage.set_marker("retention", "1774915200000000")
    assert await storage.get_marker("rollup:1m") == "2026-03-31T23:59:00Z"

    await storage.set_marker("rollup:1m", "2026-04-01T00:00:00Z")

    assert await storage.get_marker("rollup:1m") == "2026-04-01T00:00:00Z"
    assert await storage.get_marker("retention") == "1774915200000000"
    assert await storage.get_marker("rollup:1h") is None
