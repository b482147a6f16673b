"""Rollup rows and rollup aggregates against numpy on the raw points they summarize."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from monitorx.core import MetricName
from monitorx.store import METRIC_BATCH_SCHEMA, Aggregation
from monitorx.store.rollups import aggregate_rollups, merge_rollups, rollup_raw

MINUTE_US = 60_000_000
T0_US = 1_780_000_020 * 1_000_000  # an arbitrary instant, not on a minute boundary
# KLL with k=200: normalized rank error below 1.65% (DataSketches); allow 2%.
RANK_TOLERANCE = 0.02


def raw_points(n: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    ts = T0_US + np.sort(rng.integers(0, 3 * 3600 * 1_000_000, n))
    models = rng.choice(["a", "b"], n)
    gpu = rng.uniform(1000, 2000, n)
    gpu_present = rng.random(n) < 0.7
    tags = rng.choice(['{"r":"eu","v":"1"}', '{"v":"1","r":"eu"}', None], n)
    rows = {
        "model_id": models,
        "model_type": ["classification"] * n,
        "request_id": [f"r{i}" for i in range(n)],
        "ts": pa.array(ts, pa.timestamp("us")),
        "latency": rng.lognormal(3, 0.5, n),
        "throughput": None,
        "error_rate": pa.array(
            np.where(rng.random(n) < 0.5, rng.random(n), np.nan), from_pandas=True
        ),
        "error": rng.random(n) < 0.1,
        "gpu_memory_mb": pa.array(np.where(gpu_present, gpu, np.nan), from_pandas=True),
        "gpu_utilization": None,
        "cpu_percent": None,
        "memory_mb": None,
        "tags": tags,
        "prompt_tokens": None,
        "completion_tokens": None,
        "time_to_first_token_ms": None,
        "cost_usd": None,
    }
    columns = {
        name: (pa.nulls(n, field.type) if rows[name] is None else pa.array(rows[name], field.type))
        for name, field in zip(METRIC_BATCH_SCHEMA.names, METRIC_BATCH_SCHEMA, strict=True)
    }
    return pa.table(columns, schema=METRIC_BATCH_SCHEMA)


def values_of(raw: pa.Table, metric: MetricName) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps µs, values) of the points carrying ``metric``, per API.md."""
    ts = raw.column("ts").cast(pa.int64()).to_numpy()
    if metric is MetricName.ERROR_RATE:
        rate = raw.column("error_rate").fill_null(0.0).to_numpy()
        return ts, np.where(raw.column("error").to_numpy(zero_copy_only=False), 1.0, rate)
    column = raw.column(metric.value)
    keep = column.is_valid().to_numpy(zero_copy_only=False)
    return ts[keep], column.fill_null(0.0).to_numpy()[keep]


def only(raw: pa.Table, model: str) -> pa.Table:
    return raw.filter(pa.compute.equal(raw.column("model_id"), model))


def test_tag_sets_equal_up_to_key_order_share_a_row() -> None:
    rows = rollup_raw(raw_points(2000), 60)
    assert set(rows.column("tags").to_pylist()) == {"{}", '{"r":"eu","v":"1"}'}


def test_a_metric_missing_from_every_point_gets_no_rows() -> None:
    rows = rollup_raw(raw_points(500), 60)
    assert "throughput" not in set(rows.column("metric").to_pylist())


@pytest.mark.parametrize(
    "metric", [MetricName.LATENCY, MetricName.ERROR_RATE, MetricName.GPU_MEMORY_MB]
)
def test_minute_rows_sum_to_the_raw_points(metric: MetricName) -> None:
    raw = raw_points(5000)
    rows = rollup_raw(raw, 60)
    mine = rows.filter(pa.compute.equal(rows.column("metric"), metric.value)).to_pylist()
    _, values = values_of(raw, metric)
    assert sum(r["count"] for r in mine) == len(values)
    assert sum(r["sum"] for r in mine) == pytest.approx(values.sum(), rel=1e-9)
    assert min(r["min"] for r in mine) == values.min()
    assert max(r["max"] for r in mine) == values.max()
    for row in mine:
        assert row["bucket"].second == 0 and row["bucket"].microsecond == 0


@pytest.mark.parametrize(
    "agg",
    [Aggregation.COUNT, Aggregation.SUM, Aggregation.MEAN, Aggregation.MIN, Aggregation.MAX],
)
@pytest.mark.parametrize("interval_s", [60, 300, 3600])
def test_exact_aggregates_from_rollups_equal_numpy(agg: Aggregation, interval_s: int) -> None:
    raw = only(raw_points(6000), "a")
    rows = rollup_raw(raw, 60)
    latency_rows = rows.filter(pa.compute.equal(rows.column("metric"), "latency"))
    found = dict(aggregate_rollups(latency_rows, agg, interval_s * 1_000_000))
    ts, values = values_of(raw, MetricName.LATENCY)
    buckets = (ts // (interval_s * 1_000_000)) * interval_s * 1_000_000
    expected = {}
    for bucket in np.unique(buckets):
        chosen = values[buckets == bucket]
        expected[int(bucket)] = {
            Aggregation.COUNT: float(len(chosen)),
            Aggregation.SUM: chosen.sum(),
            Aggregation.MEAN: chosen.mean(),
            Aggregation.MIN: chosen.min(),
            Aggregation.MAX: chosen.max(),
        }[agg]
    assert found.keys() == expected.keys()
    for bucket, value in expected.items():
        assert found[bucket] == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize("agg", [Aggregation.P50, Aggregation.P95, Aggregation.P99])
def test_percentiles_from_merged_sketches_are_within_the_rank_error(agg: Aggregation) -> None:
    raw = only(raw_points(40_000, seed=3), "b")
    hours = merge_rollups(rollup_raw(raw, 60), 3600)
    latency_rows = hours.filter(pa.compute.equal(hours.column("metric"), "latency"))
    ((_, value),) = aggregate_rollups(latency_rows, agg, 24 * 3600 * 1_000_000)
    _, values = values_of(raw, MetricName.LATENCY)
    rank = (values <= value).mean()
    assert agg.quantile is not None
    assert abs(rank - agg.quantile) <= RANK_TOLERANCE


def test_hour_rows_merged_from_minutes_equal_hour_rows_from_raw() -> None:
    raw = raw_points(8000)
    merged = merge_rollups(rollup_raw(raw, 60), 3600).sort_by(
        [
            ("model_id", "ascending"),
            ("tags", "ascending"),
            ("metric", "ascending"),
            ("bucket", "ascending"),
        ]
    )
    direct = rollup_raw(raw, 3600).sort_by(
        [
            ("model_id", "ascending"),
            ("tags", "ascending"),
            ("metric", "ascending"),
            ("bucket", "ascending"),
        ]
    )
    for name in ("model_id", "tags", "metric", "bucket", "count", "min", "max"):
        assert merged.column(name).to_pylist() == direct.column(name).to_pylist()
    assert merged.column("sum").to_pylist() == pytest.approx(
        direct.column("sum").to_pylist(), rel=1e-9
    )


def test_no_points_no_rows() -> None:
    empty = METRIC_BATCH_SCHEMA.empty_table()
    assert rollup_raw(empty, 60).num_rows == 0
    assert merge_rollups(rollup_raw(empty, 60), 3600).num_rows == 0
    assert aggregate_rollups(rollup_raw(empty, 60), Aggregation.MEAN, MINUTE_US) == []
