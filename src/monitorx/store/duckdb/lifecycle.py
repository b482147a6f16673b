"""The embedded store's side of the data lifecycle: raw reads in bulk, deletes by
age, rollup rows and markers (see the "Data lifecycle" part of `Storage`)."""

from __future__ import annotations

__all__ = ["LifecycleQueries"]

from datetime import datetime
from typing import TypeVar

import pyarrow as pa

from monitorx.core import MetricName
from monitorx.core.timeparse import to_epoch_us
from monitorx.store.duckdb.session import DuckDBSession
from monitorx.store.hot_tier import HotTier
from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA, ROLLUP_SCHEMA
from monitorx.store.queries import Resolution
from monitorx.store.sql import rows
from monitorx.store.sql.session import Statement, equal_filters

T = TypeVar("T")

_RAW_COLUMNS = ", ".join(METRIC_BATCH_SCHEMA.names)
_ROLLUP_COLUMNS = ", ".join(ROLLUP_SCHEMA.names)
_ROLLUP_TABLES = {Resolution.MINUTE: "rollups_1m", Resolution.HOUR: "rollups_1h"}


def rollup_table(resolution: Resolution) -> str:
    if resolution not in _ROLLUP_TABLES:
        raise ValueError(f"no rollup table for resolution {resolution.value!r}")
    return _ROLLUP_TABLES[resolution]


class LifecycleQueries:
    """Mixed into `DuckDBStorage`, which provides the connection and transactions."""

    _project: str
    _hot: HotTier | None
    _duckdb: DuckDBSession

    async def _settled(self) -> None:
        """Every acknowledged metric is in DuckDB (`DuckDBStorage` waits for its writer)."""

    async def read_metrics_table(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> pa.Table:
        await self._settled()
        extra, params = equal_filters({"model_id": model_id})
        table = await self._duckdb.read_arrow(
            f"SELECT {_RAW_COLUMNS} FROM inference_metrics "
            f"WHERE project_id = %s AND ts >= %s AND ts < %s{extra} ORDER BY ts",
            [self._project, start, end, *params],
        )
        return table.cast(METRIC_BATCH_SCHEMA)

    async def metric_time_bounds(self) -> tuple[datetime, datetime] | None:
        await self._settled()
        ((low, high),) = await self._duckdb.read(
            "SELECT min(ts), max(ts) FROM inference_metrics WHERE project_id = %s", [self._project]
        )
        return None if low is None else (rows.utc(low), rows.utc(high))

    async def delete_metrics_before(self, cutoff: datetime) -> None:
        await self._settled()
        params = [self._project, cutoff]
        await self._duckdb.write_all(
            [
                Statement(f"DELETE FROM {table} WHERE project_id = %s AND ts < %s", params)
                for table in ("inference_metrics", "drift_metrics")
            ]
        )
        if self._hot is not None:
            self._hot.drop_before(to_epoch_us(cutoff))

    async def write_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        await self._duckdb.insert_arrow(
            rollup_table(resolution), table.cast(ROLLUP_SCHEMA), [self._project]
        )

    async def read_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        model_id: str | None = None,
        metric: MetricName | None = None,
    ) -> pa.Table:
        sql = (
            f"SELECT {_ROLLUP_COLUMNS} FROM {rollup_table(resolution)} "
            "WHERE project_id = %s AND bucket >= %s AND bucket < %s "
        )
        params: list[object] = [self._project, start, end]
        if model_id is not None:
            sql += "AND model_id = %s "
            params.append(model_id)
        if metric is not None:
            sql += "AND metric = %s "
            params.append(metric.value)
        table = await self._duckdb.read_arrow(
            sql + "ORDER BY bucket, model_id, metric, tags", params
        )
        return table.cast(ROLLUP_SCHEMA)

    async def delete_rollups(self, resolution: Resolution, start: datetime, end: datetime) -> None:
        await self._duckdb.write(
            f"DELETE FROM {rollup_table(resolution)} "
            "WHERE project_id = %s AND bucket >= %s AND bucket < %s",
            [self._project, start, end],
        )
