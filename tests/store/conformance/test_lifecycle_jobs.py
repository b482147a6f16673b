"""The data lifecycle on every backend: rollups, tiered aggregates, cold export and
retention, driven by the injectable clock (no sleeps)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from monitorx.core import FakeClock, MetricName
from monitorx.store import (
    METRIC_BATCH_SCHEMA,
    Aggregation,
    DataLifecycle,
    LifecycleReport,
    MetricQuery,
    Resolution,
    RetentionPolicy,
    Storage,
    TieredReads,
)
from tests.store.conformance.conftest import PROJECT
from tests.store.conformance.samples import NOW, at, us

DAY_S = 86_400
DAYS = 4
STEP_S = 60  # one point per model per minute
MODELS = ("alpha", "beta")
RANK_TOLERANCE = 0.02  # KLL k=200: normalized rank error < 1.65%


def history() -> pa.Table:
    """Four days of one point a minute per model, ending just before NOW."""
    rng = np.random.default_rng(11)
    start = us(NOW) - DAYS * DAY_S * 1_000_000
    ts = np.arange(start, us(NOW) - 1, STEP_S * 1_000_000) + 1_500_000
    n = len(ts)
    columns: dict[str, object] = {
        "model_id": np.repeat(MODELS, n),
        "model_type": [None] * (2 * n),
        "request_id": [f"h{i}" for i in range(2 * n)],
        "ts": pa.array(np.tile(ts, 2), pa.timestamp("us")),
        "latency": rng.lognormal(3, 0.4, 2 * n),
        "throughput": None,
        "error_rate": None,
        "error": rng.random(2 * n) < 0.05,
        "gpu_memory_mb": rng.uniform(1000, 3000, 2 * n),
        "gpu_utilization": None,
        "cpu_percent": None,
        "memory_mb": None,
        "tags": ['{"zone":"a"}'] * (2 * n),
        "prompt_tokens": rng.integers(10, 2000, 2 * n),
        "completion_tokens": None,
        "time_to_first_token_ms": None,
        "cost_usd": rng.uniform(0.0, 0.01, 2 * n),
    }
    arrays = [
        pa.nulls(2 * n, f.type) if columns[f.name] is None else pa.array(columns[f.name], f.type)
        for f in METRIC_BATCH_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=METRIC_BATCH_SCHEMA)


def policy(cold: Path | None) -> RetentionPolicy:
    return RetentionPolicy(
        raw_s=1 * DAY_S,
        minute_s=2 * DAY_S,
        hour_s=30 * DAY_S,
        rollup_grace_s=120,
        cold_tier_url=None if cold is None else str(cold),
    )


async def run_until_idle(lifecycle: DataLifecycle) -> list[LifecycleReport]:
    reports = []
    for _ in range(10):
        report = await lifecycle.run_once()
        reports.append(report)
        if report.minute_rows == report.hour_rows == report.cold_files == 0:
            return reports
    raise AssertionError("the lifecycle never caught up")


def latency_of(table: pa.Table, model: str, low_us: int, high_us: int) -> np.ndarray:
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    mask = (table.column("model_id").to_numpy(zero_copy_only=False) == model) & (ts >= low_us)
    mask &= ts < high_us
    return np.asarray(table.column("latency").to_numpy()[mask])


async def test_old_raw_points_go_to_parquet_and_recent_ones_stay(
    storage: Storage, clock: FakeClock, tmp_path: Path
) -> None:
    data = history()
    await storage.write_metrics(data)
    lifecycle = DataLifecycle(storage, policy(tmp_path / "cold"), clock, PROJECT)
    await run_until_idle(lifecycle)

    cutoff_us = us(NOW) - DAY_S * 1_000_000
    kept = await storage.read_metrics_table(at(0), NOW + timedelta(days=1))
    kept_ts = kept.column("ts").cast(pa.int64()).to_numpy()
    all_ts = data.column("ts").cast(pa.int64()).to_numpy()
    assert kept.num_rows == int((all_ts >= cutoff_us).sum())
    assert kept_ts.min() >= cutoff_us
    newest = await storage.query_metrics(MetricQuery(NOW - timedelta(hours=1), NOW, 10_000))
    assert len(newest) == 2 * 60

    # The cold tier holds every expired point once, readable by DuckDB as it is.
    files = sorted((tmp_path / "cold").rglob("*.parquet"))
    assert files and all(f"project={PROJECT}" in str(f) for f in files)
    glob = (tmp_path / "cold" / "**" / "*.parquet").as_posix()
    con = duckdb.connect()
    count, models, days = con.execute(
        f"SELECT count(*), count(DISTINCT model), count(DISTINCT date) "
        f"FROM read_parquet('{glob}', hive_partitioning = true)"
    ).fetchall()[0]
    assert (count, models) == (int((all_ts < cutoff_us).sum()), 2)
    assert days >= DAYS - 1
    exported = pa.concat_tables(pq.read_table(f) for f in files)
    exported_ids = set(exported.column("request_id").to_pylist())
    kept_ids = set(kept.column("request_id").to_pylist())
    assert not exported_ids & kept_ids
    assert exported_ids | kept_ids == set(data.column("request_id").to_pylist())


async def test_aggregates_past_raw_retention_come_from_rollups(
    storage: Storage, clock: FakeClock
) -> None:
    data = history()
    await storage.write_metrics(data)
    lifecycle = DataLifecycle(storage, policy(None), clock, PROJECT)
    await run_until_idle(lifecycle)
    reads = TieredReads(storage, lifecycle, clock)

    # 3 days ago: raw points are gone; minute rollups answer 5-minute buckets.
    start, end = NOW - timedelta(days=1, hours=12), NOW - timedelta(days=1, hours=10)
    result = await reads.aggregate("alpha", MetricName.LATENCY, Aggregation.MEAN, 300, start, end)
    assert result.resolution is Resolution.MINUTE
    expected_means = []
    for low in range(us(start), us(end), 300_000_000):
        expected_means.append(latency_of(data, "alpha", low, low + 300_000_000).mean())
    assert [b.value for b in result.buckets] == pytest.approx(expected_means, rel=1e-9)

    # A day-wide bucket over everything, incl. the last minutes not rolled up yet:
    # hour rollups plus the newest raw points, each point counted once.
    result = await reads.aggregate(
        "beta", MetricName.LATENCY, Aggregation.COUNT, DAY_S, NOW - timedelta(days=3), NOW
    )
    assert result.resolution is Resolution.HOUR
    total = len(latency_of(data, "beta", us(NOW) - 3 * DAY_S * 1_000_000, us(NOW)))
    assert sum(b.value for b in result.buckets) == total

    # What an LLM cost over three days, per day, is exact from the rollups' sums.
    cost = await reads.aggregate(
        "beta", MetricName.COST_USD, Aggregation.SUM, DAY_S, NOW - timedelta(days=3), NOW
    )
    assert cost.resolution is Resolution.HOUR
    beta = data.filter(pc.equal(data.column("model_id"), "beta"))
    ts = beta.column("ts").cast(pa.int64()).to_numpy()
    costs = beta.column("cost_usd").to_numpy()
    expected_cost = costs[ts >= us(NOW) - 3 * DAY_S * 1_000_000].sum()
    assert sum(b.value for b in cost.buckets) == pytest.approx(expected_cost, rel=1e-9)

    p95 = await reads.aggregate(
        "beta", MetricName.LATENCY, Aggregation.P95, DAY_S, NOW - timedelta(days=3), NOW
    )
    for bucket in p95.buckets:
        low = us(bucket.time)
        values = latency_of(
            data, "beta", max(low, us(NOW) - 3 * DAY_S * 1_000_000), low + DAY_S * 1_000_000
        )
        assert abs((values <= bucket.value).mean() - 0.95) <= RANK_TOLERANCE

    recent = await reads.aggregate(
        "alpha", MetricName.LATENCY, Aggregation.P95, 60, NOW - timedelta(hours=1), NOW
    )
    assert recent.resolution is Resolution.RAW


async def test_rollups_are_not_doubled_by_repeated_runs_or_a_restart(
    storage: Storage, clock: FakeClock, reopen: Callable[[Storage], Awaitable[Storage]]
) -> None:
    await storage.write_metrics(history())
    await run_until_idle(DataLifecycle(storage, policy(None), clock, PROJECT))
    # A restarted server resumes from the stored watermarks.
    storage = await reopen(storage)
    clock.advance(3600)
    lifecycle = DataLifecycle(storage, policy(None), clock, PROJECT)
    await run_until_idle(lifecycle)
    rows = await storage.read_rollups(Resolution.HOUR, at(0), NOW + timedelta(days=1))
    latency = rows.filter(pa.compute.equal(rows.column("metric"), "latency"))
    # Every hour rolled up exactly once: counts add up to the points in those hours.
    assert sum(latency.column("count").to_pylist()) == 2 * (DAYS * 24 * 60)

    # Rebuilding a range (after an import) replaces its rows instead of adding to them.
    await lifecycle.rebuild(NOW - timedelta(days=1), NOW)
    again = await storage.read_rollups(Resolution.HOUR, at(0), NOW + timedelta(days=1))
    latency_again = again.filter(pa.compute.equal(again.column("metric"), "latency"))
    assert sum(latency_again.column("count").to_pylist()) == 2 * (DAYS * 24 * 60)


async def test_rollups_expire_after_their_own_retention(storage: Storage, clock: FakeClock) -> None:
    await storage.write_metrics(history())
    lifecycle = DataLifecycle(storage, policy(None), clock, PROJECT)
    await run_until_idle(lifecycle)
    minutes = await storage.read_rollups(Resolution.MINUTE, at(0), NOW + timedelta(days=1))
    oldest_minute = minutes.column("bucket").cast(pa.int64()).to_numpy().min()
    assert oldest_minute >= us(NOW) - 2 * DAY_S * 1_000_000
    hours = await storage.read_rollups(Resolution.HOUR, at(0), NOW + timedelta(days=1))
    assert (
        hours.column("bucket").cast(pa.int64()).to_numpy().min() < us(NOW) - 3 * DAY_S * 1_000_000
    )
