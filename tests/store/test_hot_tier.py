"""The hot tier answers exactly what the database answers, from memory.

Each test fills two embedded stores with the same points: one whose hot tier holds
them, one whose hot tier holds nothing (so every query is SQL over DuckDB).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from monitorx.core import FakeClock, MetricColumns, MetricName
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import Aggregation, DuckDBStorage, metric_table

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _random_batch(rng: np.random.Generator, n: int, span_s: float) -> pa.Table:
    return metric_table(_random_columns(rng, n, span_s))


def _random_columns(rng: np.random.Generator, n: int, span_s: float) -> MetricColumns:
    ts = to_epoch_us(NOW) - (rng.random(n) * span_s * 1_000_000).astype(np.int64)
    has = rng.random(n) < 0.7
    models = [f"m{i}" for i in rng.integers(0, 4, n)]
    # Only m2 is an LLM, and only some of its points carry each LLM field.
    llm = np.array([m == "m2" for m in models]) & (rng.random(n) < 0.6)
    return MetricColumns(
        model_id=models,
        model_type=[None] * n,
        request_id=[f"r{i}" for i in range(n)],
        ts_us=[int(t) for t in ts],
        latency=[float(x) for x in rng.lognormal(3, 0.7, n)],
        throughput=[float(x) if h else None for x, h in zip(rng.random(n) * 100, has, strict=True)],
        error_rate=[float(x) if h else None for x, h in zip(rng.random(n) / 10, ~has, strict=True)],
        error=[bool(e) for e in rng.random(n) < 0.05],
        gpu_memory_mb=[
            float(x) if h else None for x, h in zip(rng.random(n) * 1e4, has, strict=True)
        ],
        gpu_utilization=[None] * n,
        cpu_percent=[float(x) for x in rng.random(n) * 100],
        memory_mb=[None] * n,
        tags_json=[None] * n,
        prompt_tokens=[
            int(x) if h else None for x, h in zip(rng.integers(1, 4000, n), llm, strict=True)
        ],
        completion_tokens=[None] * n,
        time_to_first_token_ms=[None] * n,
        cost_usd=[
            float(x) if h else None for x, h in zip(rng.random(n) / 100, has & llm, strict=True)
        ],
    )


@pytest.fixture
async def stores() -> AsyncIterator[tuple[DuckDBStorage, DuckDBStorage]]:
    clock = FakeClock(NOW)
    hot = DuckDBStorage(":memory:", clock=clock, hot_retention_s=6 * 3600)
    cold = DuckDBStorage(":memory:", clock=clock, hot_max_points=0)
    await hot.open()
    await cold.open()
    rng = np.random.default_rng(7)
    for _ in range(5):
        batch = _random_batch(rng, 2_000, span_s=3 * 3600)
        await hot.write_metrics(batch)
        await cold.write_metrics(batch)
    yield hot, cold
    await hot.close()
    await cold.close()


async def test_window_stats_match_the_database(stores: tuple[DuckDBStorage, DuckDBStorage]) -> None:
    hot, cold = stores
    start, end = NOW - timedelta(hours=1), NOW + timedelta(seconds=1)
    assert hot._hot_for(start) is not None and cold._hot_for(start) is None
    from_memory = await hot.window_stats(start, end)
    from_sql = await cold.window_stats(start, end)
    assert (
        [s.model_id for s in from_memory]
        == [s.model_id for s in from_sql]
        == ["m0", "m1", "m2", "m3"]
    )
    for a, b in zip(from_memory, from_sql, strict=True):
        assert a.count == b.count
        for field in (
            "latency_mean",
            "latency_p50",
            "latency_p95",
            "latency_p99",
            "latency_max",
            "error_rate",
        ):
            assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-12), field


@pytest.mark.parametrize("agg", list(Aggregation))
@pytest.mark.parametrize(
    "metric",
    [
        MetricName.LATENCY,
        MetricName.ERROR_RATE,
        MetricName.GPU_MEMORY_MB,
        MetricName.MEMORY_MB,
        MetricName.PROMPT_TOKENS,
        MetricName.COST_USD,
        MetricName.TIME_TO_FIRST_TOKEN_MS,
    ],
)
async def test_aggregates_match_the_database(
    stores: tuple[DuckDBStorage, DuckDBStorage], agg: Aggregation, metric: MetricName
) -> None:
    hot, cold = stores
    start, end = NOW - timedelta(hours=2), NOW
    args = ("m2", metric, agg, 600.0, start, end)
    from_memory = await hot.aggregate(*args)
    from_sql = await cold.aggregate(*args)
    assert [b.time for b in from_memory] == [b.time for b in from_sql]
    assert [b.value for b in from_memory] == pytest.approx([b.value for b in from_sql], rel=1e-12)
    if metric in (MetricName.MEMORY_MB, MetricName.TIME_TO_FIRST_TOKEN_MS):
        assert from_memory == []  # no point carries it: no buckets
    else:
        assert from_memory


async def test_llm_series_take_memory_only_where_points_carry_them(
    stores: tuple[DuckDBStorage, DuckDBStorage],
) -> None:
    hot, _ = stores
    assert hot._hot is not None
    kept = {
        model_id: set().union(*(c.values for c in series.chunks))
        for model_id, series in hot._hot._series.items()
    }
    assert kept["m2"] >= {"prompt_tokens", "cost_usd"}
    assert not kept["m2"] & {"completion_tokens", "time_to_first_token_ms"}
    for other in ("m0", "m1", "m3"):
        assert not kept[other] & {"prompt_tokens", "completion_tokens", "cost_usd"}
    # Other models' aggregates of an LLM series are empty, as from SQL.
    span = (NOW - timedelta(hours=2), NOW)
    assert await hot.aggregate("m1", MetricName.COST_USD, Aggregation.SUM, 600.0, *span) == []


async def test_the_hot_tier_refills_from_the_database_on_open(tmp_path: object) -> None:
    clock = FakeClock(NOW)
    path = f"{tmp_path}/x.duckdb"
    first = DuckDBStorage(path, clock=clock)
    await first.open()
    await first.write_metrics(_random_batch(np.random.default_rng(1), 500, span_s=600))
    before = await first.window_stats(NOW - timedelta(hours=1), NOW + timedelta(seconds=1))
    await first.close()

    second = DuckDBStorage(path, clock=clock)
    await second.open()
    assert second._hot is not None and second._hot.points == 500
    after = await second.window_stats(NOW - timedelta(hours=1), NOW + timedelta(seconds=1))
    await second.close()
    assert [(s.model_id, s.count) for s in after] == [(s.model_id, s.count) for s in before]
    assert [s.latency_p95 for s in after] == [s.latency_p95 for s in before]
    assert [s.error_rate for s in after] == pytest.approx([s.error_rate for s in before])


async def test_points_past_retention_leave_memory_but_not_the_database() -> None:
    clock = FakeClock(NOW)
    store = DuckDBStorage(":memory:", clock=clock, hot_retention_s=3600)
    await store.open()
    await store.write_metrics(_random_batch(np.random.default_rng(2), 1_000, span_s=1800))
    clock.advance(3 * 3600)
    await store.write_metrics(_random_batch(np.random.default_rng(3), 10, span_s=1))
    start = NOW - timedelta(hours=1)
    assert store._hot_for(start) is None  # older than the tier now holds
    stats = await store.window_stats(start, NOW + timedelta(seconds=1))
    assert sum(s.count for s in stats) == 1_010  # answered by the database
    await store.close()


async def test_point_budget_bounds_memory() -> None:
    clock = FakeClock(NOW)
    store = DuckDBStorage(":memory:", clock=clock, hot_max_points=1_500)
    await store.open()
    rng = np.random.default_rng(4)
    for _ in range(4):
        await store.write_metrics(_random_batch(rng, 1_000, span_s=3600))
    assert store._hot is not None and store._hot.points <= 1_500 + 1_000
    total = await store.window_stats(NOW - timedelta(hours=2), NOW + timedelta(seconds=1))
    assert sum(s.count for s in total) == 4_000
    await store.close()


async def test_whole_series_stats_stay_exact_as_batches_arrive(
    stores: tuple[DuckDBStorage, DuckDBStorage],
) -> None:
    """The incrementally sorted latencies give the database's answer after each batch."""
    hot, cold = stores
    rng = np.random.default_rng(11)
    start, end = NOW - timedelta(hours=12), NOW + timedelta(seconds=1)
    for _ in range(3):
        batch = _random_batch(rng, 700, span_s=600)
        await hot.write_metrics(batch)
        await cold.write_metrics(batch)
        from_memory = await hot.window_stats(start, end)
        from_sql = await cold.window_stats(start, end)
        assert [(s.model_id, s.count) for s in from_memory] == [
            (s.model_id, s.count) for s in from_sql
        ]
        for a, b in zip(from_memory, from_sql, strict=True):
            assert a.latency_p95 == pytest.approx(b.latency_p95, rel=1e-12)
            assert a.latency_p50 == pytest.approx(b.latency_p50, rel=1e-12)
            assert a.latency_mean == pytest.approx(b.latency_mean, rel=1e-9)
            assert a.error_rate == pytest.approx(b.error_rate, rel=1e-9)
