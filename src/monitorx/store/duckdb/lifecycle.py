"""The embedded store's side of the data lifecycle: raw reads in bulk, deletes by
age, rollup rows and markers (see the "Data lifecycle" part of `Storage`)."""

from __future__ import annotations

__all__ = ["LifecycleQueries"]

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

import pyarrow as pa

from monitorx.core import MetricName
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import stored_rows as rows
from monitorx.store.hot_tier import HotTier
from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA, ROLLUP_SCHEMA
from monitorx.store.storage import Resolution

T = TypeVar("T")

_RAW_COLUMNS = ", ".join(METRIC_BATCH_SCHEMA.names)
_ROLLUP_COLUMNS = ", ".join(ROLLUP_SCHEMA.names)
_ROLLUP_TABLES = {Resolution.MINUTE: "rollups_1m", Resolution.HOUR: "rollups_1h"}


def rollup_table(resolution: Resolution) -> str:
    if resolution not in _ROLLUP_TABLES:
        raise ValueError(f"no rollup table for resolution {resolution.value!r}")
    return _ROLLUP_TABLES[resolution]


class _Backend(Protocol):
    """What the queries need of the store they are mixed into."""

    _project: str
    _hot: HotTier | None

    async def _run(self: _Backend, fn: Callable[[Any], T]) -> T: ...

    async def _write(self: _Backend, fn: Callable[[Any], T]) -> T: ...

    async def _settled(self: _Backend) -> None: ...


class LifecycleQueries:
    """Mixed into `DuckDBStorage`, which provides the connection and transactions."""

    async def read_metrics_table(
        self: _Backend, start: datetime, end: datetime, model_id: str | None = None
    ) -> pa.Table:
        await self._settled()
        sql = (
            f"SELECT {_RAW_COLUMNS} FROM inference_metrics "
            "WHERE project_id = ? AND ts >= ? AND ts < ? "
        )
        params: list[object] = [self._project, rows.naive_utc(start), rows.naive_utc(end)]
        if model_id is not None:
            sql += "AND model_id = ? "
            params.append(model_id)
        sql += "ORDER BY ts"
        table: pa.Table = await self._run(lambda cur: cur.sql(sql, params=params).to_arrow_table())
        return table.cast(METRIC_BATCH_SCHEMA)

    async def metric_time_bounds(self: _Backend) -> tuple[datetime, datetime] | None:
        await self._settled()
        sql = "SELECT min(ts), max(ts) FROM inference_metrics WHERE project_id = ?"
        ((low, high),) = await self._run(lambda cur: cur.execute(sql, [self._project]).fetchall())
        return None if low is None else (rows.utc(low), rows.utc(high))

    async def delete_metrics_before(self: _Backend, cutoff: datetime) -> None:
        await self._settled()
        params = [self._project, rows.naive_utc(cutoff)]

        def delete(cur: Any) -> None:
            for table in ("inference_metrics", "drift_metrics"):
                cur.execute(f"DELETE FROM {table} WHERE project_id = ? AND ts < ?", params)

        await self._write(delete)
        if self._hot is not None:
            self._hot.drop_before(to_epoch_us(cutoff))

    async def write_rollups(self: _Backend, resolution: Resolution, table: pa.Table) -> None:
        batch = table.cast(ROLLUP_SCHEMA)
        target = rollup_table(resolution)

        def insert(cur: Any) -> None:
            cur.register("rollup_batch", batch)
            try:
                cur.execute(
                    f"INSERT INTO {target} SELECT ?, {_ROLLUP_COLUMNS} FROM rollup_batch",
                    [self._project],
                )
            finally:
                cur.unregister("rollup_batch")

        await self._write(insert)

    async def read_rollups(
        self: _Backend,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        model_id: str | None = None,
        metric: MetricName | None = None,
    ) -> pa.Table:
        sql = (
            f"SELECT {_ROLLUP_COLUMNS} FROM {rollup_table(resolution)} "
            "WHERE project_id = ? AND bucket >= ? AND bucket < ? "
        )
        params: list[object] = [self._project, rows.naive_utc(start), rows.naive_utc(end)]
        if model_id is not None:
            sql += "AND model_id = ? "
            params.append(model_id)
        if metric is not None:
            sql += "AND metric = ? "
            params.append(metric.value)
        sql += "ORDER BY bucket, model_id, metric, tags"
        table: pa.Table = await self._run(lambda cur: cur.sql(sql, params=params).to_arrow_table())
        return table.cast(ROLLUP_SCHEMA)

    async def delete_rollups(
        self: _Backend, resolution: Resolution, start: datetime, end: datetime
    ) -> None:
        sql = (
            f"DELETE FROM {rollup_table(resolution)} "
            "WHERE project_id = ? AND bucket >= ? AND bucket < ?"
        )
        params = [self._project, rows.naive_utc(start), rows.naive_utc(end)]
        await self._write(lambda cur: cur.execute(sql, params))

    async def get_marker(self: _Backend, name: str) -> str | None:
        sql = "SELECT value FROM markers WHERE project_id = ? AND name = ?"
        found = await self._run(lambda cur: cur.execute(sql, [self._project, name]).fetchall())
        return str(found[0][0]) if found else None

    async def set_marker(self: _Backend, name: str, value: str) -> None:
        sql = "INSERT OR REPLACE INTO markers VALUES (?, ?, ?)"
        await self._write(lambda cur: cur.execute(sql, [self._project, name, value]))
