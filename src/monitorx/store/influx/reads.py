"""The InfluxDB backend's reads: raw metrics, aggregates, summaries, drift, rollups.

What InfluxDB can compute the way API.md defines it, it computes: counts, means,
minima and maxima of a series per ``GROUP BY time(...)`` bucket (buckets start at
multiples of the interval since the epoch, which is API.md's rule), and the sums
an error rate is made of. A point's error contribution is 1.0 if it flags an
error, else its ``error_rate`` if given, else 0.0; over a set of points that is

    (errors flagged + sum of error_rate - sum of error_rate of flagged points) / count

four aggregates InfluxQL has, sent as one request. Percentiles (InfluxQL's are
nearest-rank, API.md's interpolate) and the minimum or maximum of contributions
need the raw values, which are fetched and computed with numpy (series_stats).
Raw fetches ask for as few fields as the answer needs: InfluxDB 1.x spends most of
a raw query's time per field per point.
"""

from __future__ import annotations

__all__ = ["SeriesReads"]

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import pyarrow as pa

from monitorx.core import DriftMetric, InferenceMetric, MetricName
from monitorx.core.timeparse import from_epoch_us
from monitorx.store import series_stats as stats
from monitorx.store.influx import queries as iql
from monitorx.store.influx.client import InfluxClient, Series
from monitorx.store.influx.layout import INFERENCE, rollup_measurement
from monitorx.store.queries import (
    Aggregation,
    Bucket,
    ErrorWindow,
    MetricQuery,
    ModelWindowStats,
    Resolution,
)
from monitorx.store.sql import rows

T = TypeVar("T")
_SERVER_SIDE = {
    Aggregation.COUNT: "count",
    Aggregation.SUM: "sum",
    Aggregation.MEAN: "mean",
    Aggregation.MIN: "min",
    Aggregation.MAX: "max",
}
# Error-rate aggregates made from a bucket's (count, sum of contributions).
_ERROR_SIDE: dict[Aggregation, Callable[[int, float], float]] = {
    Aggregation.COUNT: lambda count, total: float(count),
    Aggregation.SUM: lambda count, total: total,
    Aggregation.MEAN: lambda count, total: total / count,
}
_INFERENCE = iql.ident(INFERENCE)
_MODEL = iql.ident("model_id")
# A group of points: a model (``GROUP BY model_id``), a bucket start in µs
# (``GROUP BY time``), or None for all points.
GroupKey = str | int | None
# What an error rate is made of, per group: (count, sum of contributions).
ErrorSums = dict[GroupKey, tuple[int, float]]


async def _select(store: SeriesReads, statement: str) -> list[Series]:
    (found,) = await store._influx.query(statement)
    return found


def _by_group(series: list[Series], by_time: bool) -> dict[GroupKey, float]:
    """An aggregate's values by group (see `GroupKey`)."""
    found: dict[GroupKey, float] = {}
    for s in series:
        model_id = s.tags.get("model_id")
        for row in s.values:
            if row[1] is not None:
                key = model_id if model_id is not None else int(row[0]) if by_time else None
                found[key] = float(row[1])
    return found


async def _error_sums(store: SeriesReads, clause: str, group_by: str = "") -> ErrorSums:
    """Count and sum of error contributions per group of points (see the module)."""
    source = f"FROM {_INFERENCE}{clause}"
    flagged = f"{source} AND {iql.ident('error')} = true"
    latency, rate = iql.ident("latency"), iql.ident("error_rate")
    results = await store._influx.query(
        f"SELECT count({latency}) {source} {group_by}",
        f"SELECT count({latency}) {flagged} {group_by}",
        f"SELECT sum({rate}) {source} {group_by}",
        f"SELECT sum({rate}) {flagged} {group_by}",
    )
    by_time = "time(" in group_by
    counts, errors, rates, flagged_rates = (_by_group(r, by_time) for r in results)
    return {
        key: (
            int(count),
            errors.get(key, 0.0) + rates.get(key, 0.0) - flagged_rates.get(key, 0.0),
        )
        for key, count in counts.items()
        if count
    }


async def _slow(store: SeriesReads, clause: str, count: int, latency_over: float | None) -> int:
    """How many of the ``count`` points of ``clause`` have a latency strictly above
    ``latency_over`` (0 when it is None). Beyond the finite floats, which InfluxQL
    cannot write, the answer is known: nothing is above NaN or +inf, all is above -inf."""
    if latency_over is None or math.isnan(latency_over) or latency_over == math.inf:
        return 0
    if latency_over == -math.inf:
        return count
    latency = iql.ident("latency")
    found = await _select(
        store,
        f"SELECT count({latency}) FROM {_INFERENCE}{clause} "
        f"AND {latency} > {iql.number(latency_over)}",
    )
    return int(_by_group(found, by_time=False).get(None, 0))


class SeriesReads:
    """Mixed into `InfluxStorage`, which provides the client and a thread pool."""

    _project: str
    _influx: InfluxClient
    _pool: ThreadPoolExecutor

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        """CPU work (encoding, numpy) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def query_metrics(self, query: MetricQuery) -> list[InferenceMetric]:
        if query.limit <= 0:  # InfluxQL reads LIMIT 0 as no limit at all
            return []
        clause = iql.where(
            self._project, start=query.start, end=query.end, tags={"model_id": query.model_id}
        )
        found = await _select(
            self, f"{iql.METRIC_SELECT}{clause} ORDER BY time DESC LIMIT {int(query.limit)}"
        )
        table = await self._in_thread(lambda: iql.metrics_table(found))
        return [rows.metric_from_row(tuple(r.values())) for r in table.to_pylist()]

    async def read_metrics_table(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> pa.Table:
        clause = iql.where(self._project, start=start, end=end, tags={"model_id": model_id})
        found = await _select(self, f"{iql.METRIC_SELECT}{clause} ORDER BY time ASC")
        return await self._in_thread(lambda: iql.metrics_table(found))

    async def aggregate(
        self,
        model_id: str,
        metric: MetricName,
        agg: Aggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
    ) -> list[Bucket]:
        interval_us = max(1, round(interval_s * 1_000_000))
        clause = iql.where(self._project, start=start, end=end, tags={"model_id": model_id})
        # fill(none): empty buckets are left out, as API.md says.
        group_by = f"GROUP BY time({interval_us}u) fill(none)"
        if metric is MetricName.ERROR_RATE and agg in _ERROR_SIDE:
            sums = await _error_sums(self, clause, group_by)
            return [
                Bucket(from_epoch_us(int(bucket)), _ERROR_SIDE[agg](count, total))
                for bucket, (count, total) in sorted(sums.items(), key=lambda item: item[0] or 0)
                if bucket is not None
            ]
        if metric is not MetricName.ERROR_RATE and agg in _SERVER_SIDE:
            column = iql.ident(metric.value)
            found = await _select(
                self, f"SELECT {_SERVER_SIDE[agg]}({column}) FROM {_INFERENCE}{clause} {group_by}"
            )
            return [
                Bucket(from_epoch_us(int(t)), float(v))
                for s in found
                for t, v in s.values
                if v is not None
            ]
        # A point comes back only if it has one of the fields asked for: latency,
        # which every point has, brings those without error or error_rate too.
        names = (
            ("error", "error_rate", "latency")
            if metric is MetricName.ERROR_RATE
            else (metric.value,)
        )
        found = await _select(
            self, f"SELECT {', '.join(map(iql.ident, names))} FROM {_INFERENCE}{clause}"
        )

        def compute() -> list[tuple[int, float]]:
            fetched = iql.columns(found, ["time", *names])
            if metric is MetricName.ERROR_RATE:
                flags = iql.flags(fetched["error"])
                values = stats.error_contributions(flags, iql.floats(fetched["error_rate"]))
            else:
                values = iql.floats(fetched[metric.value])
            return stats.bucket_aggregate(iql.times(fetched["time"]), values, agg, interval_us)

        return [Bucket(from_epoch_us(b), v) for b, v in await self._in_thread(compute)]

    async def window_stats(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> list[ModelWindowStats]:
        clause = iql.where(self._project, start=start, end=end, tags={"model_id": model_id})
        found, sums = await asyncio.gather(
            _select(
                self, f"SELECT {iql.ident('latency')} FROM {_INFERENCE}{clause} GROUP BY {_MODEL}"
            ),
            _error_sums(self, clause, f"GROUP BY {_MODEL}"),
        )

        def compute() -> list[ModelWindowStats]:
            latencies: dict[str, list[Series]] = {}
            for s in found:
                latencies.setdefault(s.tags["model_id"], []).append(s)
            result = []
            for mid in sorted(latencies):
                latency = iql.floats(iql.columns(latencies[mid], ["latency"])["latency"])
                count, total = sums.get(mid, (latency.size, 0.0))
                if latency.size:
                    result.append(stats.window_stats(mid, latency, total / count))
            return result

        return await self._in_thread(compute)

    async def error_window(
        self,
        model_id: str,
        start: datetime,
        end: datetime,
        latency_over: float | None = None,
    ) -> ErrorWindow:
        clause = iql.where(self._project, start=start, end=end, tags={"model_id": model_id})
        sums = await _error_sums(self, clause)
        if None not in sums:
            return ErrorWindow(0, None)
        count, total = sums[None]
        return ErrorWindow(count, total / count, await _slow(self, clause, count, latency_over))

    async def has_metrics(self, model_id: str) -> bool:
        clause = iql.where(self._project, tags={"model_id": model_id})
        found = await _select(
            self, f"SELECT {iql.ident('latency')} FROM {_INFERENCE}{clause} LIMIT 1"
        )
        return any(s.values for s in found)

    async def metric_time_bounds(self) -> tuple[datetime, datetime] | None:
        source = f"SELECT {iql.ident('latency')} FROM {_INFERENCE}{iql.where(self._project)}"
        oldest, newest = await self._influx.query(
            f"{source} ORDER BY time ASC LIMIT 1", f"{source} ORDER BY time DESC LIMIT 1"
        )
        if not any(s.values for s in oldest) or not any(s.values for s in newest):
            return None
        return from_epoch_us(int(oldest[0].values[0][0])), from_epoch_us(
            int(newest[0].values[0][0])
        )

    async def query_drift(self, query: MetricQuery) -> list[DriftMetric]:
        if query.limit <= 0:
            return []
        clause = iql.where(
            self._project, start=query.start, end=query.end, tags={"model_id": query.model_id}
        )
        found = await _select(
            self, f"{iql.DRIFT_SELECT}{clause} ORDER BY time DESC LIMIT {int(query.limit)}"
        )
        return iql.drift_metrics(found)

    async def read_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        model_id: str | None = None,
        metric: MetricName | None = None,
    ) -> pa.Table:
        tags = {"model_id": model_id, "metric": None if metric is None else metric.value}
        clause = iql.where(self._project, start=start, end=end, tags=tags)
        measurement = iql.ident(rollup_measurement(resolution))
        found = await _select(self, f"{iql.ROLLUP_SELECT} FROM {measurement}{clause}")
        return await self._in_thread(lambda: iql.rollups_table(found))
