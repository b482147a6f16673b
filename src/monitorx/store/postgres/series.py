"""Reads of the time series: raw metrics, aggregates, window statistics, drift.

Every query runs in SQL: replicas share the database and none holds a hot tier, so
the database is the only place that has every point. The SQL follows the DuckDB
backend's, with PostgreSQL's spelling (``percentile_cont`` for ``quantile_cont``).
"""

from __future__ import annotations

__all__ = ["SeriesQueries"]

import asyncio
from datetime import datetime

import pyarrow as pa
from psycopg import sql

from monitorx.core import InferenceMetric, MetricName
from monitorx.core.timeparse import from_epoch_us
from monitorx.store.metric_batch import ERROR_CONTRIBUTION_SQL, METRIC_BATCH_SCHEMA, metric_sql
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.postgres.copy import copy_out, read_csv_table
from monitorx.store.queries import Aggregation, Bucket, ErrorWindow, MetricQuery, ModelWindowStats
from monitorx.store.sql import rows
from monitorx.store.sql.series import SeriesQueries

# A timestamp as whole microseconds since the epoch. ``extract`` returns an exact
# numeric (PostgreSQL 14+), so this is exact where a float of seconds is not.
_EPOCH_US = "(extract(epoch FROM ts) * 1000000)::bigint"
# read_metrics_table's columns: METRIC_BATCH_SCHEMA's, the timestamp as microseconds.
_TABLE_COLUMNS = sql.SQL(", ").join(
    sql.SQL(_EPOCH_US) if name == "ts" else sql.Identifier(name)
    for name in METRIC_BATCH_SCHEMA.names
)
_TABLE_READ_SCHEMA = METRIC_BATCH_SCHEMA.set(
    METRIC_BATCH_SCHEMA.get_field_index("ts"), pa.field("ts", pa.int64())
)
# The project's models, one btree probe each (a recursive CTE is PostgreSQL's way
# to skip through distinct values), then each model's first and last point: with
# the model fixed the btree is in ts order, and day partitions are too.
_TIME_BOUNDS = """
WITH RECURSIVE models AS (
    (SELECT model_id FROM inference_metrics WHERE project_id = %(project)s
     ORDER BY model_id LIMIT 1)
    UNION ALL
    SELECT (SELECT m.model_id FROM inference_metrics AS m
            WHERE m.project_id = %(project)s AND m.model_id > models.model_id
            ORDER BY m.model_id LIMIT 1)
    FROM models WHERE models.model_id IS NOT NULL
)
SELECT
    min((SELECT ts FROM inference_metrics AS i
         WHERE i.project_id = %(project)s AND i.model_id = models.model_id
         ORDER BY ts LIMIT 1)),
    max((SELECT ts FROM inference_metrics AS i
         WHERE i.project_id = %(project)s AND i.model_id = models.model_id
         ORDER BY ts DESC LIMIT 1))
FROM models WHERE models.model_id IS NOT NULL
"""


def _aggregate_sql(agg: Aggregation, quantile: float | None) -> str:
    if agg is Aggregation.COUNT:
        return "count(v)"
    if agg is Aggregation.MEAN:
        return "avg(v)"
    if quantile is not None:
        # Linear interpolation between the closest ranks, as numpy's default.
        return f"percentile_cont({quantile}) WITHIN GROUP (ORDER BY v)"
    return f"{agg.value}(v)"


class PostgresSeriesQueries(SeriesQueries):
    """Time-series reads, mixed into `PostgresStorage` (which opens the pool)."""

    _pool: PostgresPool
    _project: str

    async def query_metrics(self, query: MetricQuery) -> list[InferenceMetric]:
        fetched = await self._newest(rows.METRIC_COLUMNS, "inference_metrics", query)
        return [rows.metric_from_row(r) for r in fetched]

    async def aggregate(
        self,
        model_id: str,
        metric: MetricName,
        agg: Aggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
    ) -> list[Bucket]:
        """Buckets start at multiples of the interval since the epoch, computed in
        integer microseconds (floor division, exact for any timestamp)."""
        interval_us = max(1, round(interval_s * 1_000_000))
        text = (
            f"SELECT us - mod(mod(us, {interval_us}) + {interval_us}, {interval_us}) AS bucket_us, "
            f"{_aggregate_sql(agg, agg.quantile)} FROM ("
            f"SELECT {_EPOCH_US} AS us, {metric_sql(metric)} AS v FROM inference_metrics "
            "WHERE project_id = %s AND model_id = %s AND ts >= %s AND ts < %s"
            ") AS points WHERE v IS NOT NULL GROUP BY bucket_us ORDER BY bucket_us"
        )
        fetched = await self._pool.fetch(text, [self._project, model_id, start, end])
        return [
            Bucket(from_epoch_us(int(bucket)), float(value))
            for bucket, value in fetched
            if value is not None
        ]

    async def window_stats(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> list[ModelWindowStats]:
        text = (
            "SELECT model_id, count(*), avg(latency), "
            "percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency), "
            f"max(latency), avg({ERROR_CONTRIBUTION_SQL}) "
            "FROM inference_metrics WHERE project_id = %s AND ts >= %s AND ts < %s "
        )
        params: list[object] = [self._project, start, end]
        if model_id is not None:
            text += "AND model_id = %s "
            params.append(model_id)
        text += "GROUP BY model_id ORDER BY model_id"
        fetched = await self._pool.fetch(text, params)
        return [
            ModelWindowStats(
                model_id=mid,
                count=int(count),
                latency_mean=mean,
                latency_p50=quantiles[0],
                latency_p95=quantiles[1],
                latency_p99=quantiles[2],
                latency_max=top,
                error_rate=None if err is None else float(err),
            )
            for mid, count, mean, quantiles, top, err in fetched
        ]

    async def error_window(
        self,
        model_id: str,
        start: datetime,
        end: datetime,
        latency_over: float | None = None,
    ) -> ErrorWindow:
        # NULL compares to nothing: without a threshold no metric counts as slow.
        text = (
            f"SELECT count(*), avg({ERROR_CONTRIBUTION_SQL}), "
            "count(*) FILTER (WHERE latency > %s::double precision) FROM inference_metrics "
            "WHERE project_id = %s AND model_id = %s AND ts >= %s AND ts < %s"
        )
        params = [latency_over, self._project, model_id, start, end]
        ((count, rate, slow),) = await self._pool.fetch(text, params)
        return ErrorWindow(int(count), None if rate is None else float(rate), int(slow))

    async def has_metrics(self, model_id: str) -> bool:
        text = (
            "SELECT EXISTS (SELECT 1 FROM inference_metrics "
            "WHERE project_id = %s AND model_id = %s)"
        )
        ((found,),) = await self._pool.fetch(text, [self._project, model_id])
        return bool(found)

    # Data lifecycle ----------------------------------------------------------------

    async def read_metrics_table(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> pa.Table:
        """Through COPY and pyarrow's CSV reader: the rollup job reads whole hours of
        raw points, and no Python code runs per row this way."""
        conditions = [
            sql.SQL("project_id = {}").format(sql.Literal(self._project)),
            sql.SQL("ts >= {}").format(sql.Literal(start)),
            sql.SQL("ts < {}").format(sql.Literal(end)),
        ]
        if model_id is not None:
            conditions.append(sql.SQL("model_id = {}").format(sql.Literal(model_id)))
        query = sql.SQL("SELECT {} FROM inference_metrics WHERE {} ORDER BY ts").format(
            _TABLE_COLUMNS, sql.SQL(" AND ").join(conditions)
        )
        async with self._pool.connection() as conn:
            csv = await copy_out(conn, query)
        return await asyncio.to_thread(_metric_table_from_csv, csv)

    async def metric_time_bounds(self) -> tuple[datetime, datetime] | None:
        """A loose index scan instead of ``min(ts), max(ts)``, which would read every
        row: step through the project's models on the btree, then take each model's
        first and last timestamp from it. The cost grows with models and partitions,
        not rows; the lifecycle jobs ask for this at every run."""
        ((oldest, newest),) = await self._pool.fetch(_TIME_BOUNDS, {"project": self._project})
        if oldest is None or newest is None:
            return None
        return rows.utc(oldest), rows.utc(newest)


def _metric_table_from_csv(csv: bytes) -> pa.Table:
    table = read_csv_table(csv, _TABLE_READ_SCHEMA)
    ts_index = METRIC_BATCH_SCHEMA.get_field_index("ts")
    ts = table.column(ts_index).cast(pa.timestamp("us"))
    return table.set_column(ts_index, "ts", ts).cast(METRIC_BATCH_SCHEMA)
