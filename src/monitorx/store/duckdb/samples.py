"""The embedded store's custom metrics (see `SampleStore`): series in
``sample_series``, samples in ``samples`` appended from Arrow, rollups per series in
``sample_rollups_1m`` / ``sample_rollups_1h``."""

from __future__ import annotations

__all__ = ["SAMPLE_GROUP_COMMIT_BATCHES", "DuckDBSampleQueries"]

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from monitorx.core.timeparse import from_epoch_us
from monitorx.store.duckdb.session import DuckDBSession
from monitorx.store.group_commit import GroupCommit
from monitorx.store.queries import QueryAggregation, Resolution
from monitorx.store.samples.batch import (
    LATEST_SAMPLE_US,
    SAMPLE_ROLLUP_SCHEMA,
    SAMPLE_SCHEMA,
    SampleBatch,
)
from monitorx.store.sql.samples import (
    SAMPLE_ROLLUP_COLUMNS,
    SeriesCatalogQueries,
    series_rows,
)

_ROLLUP_TABLES = {Resolution.MINUTE: "sample_rollups_1m", Resolution.HOUR: "sample_rollups_1h"}


def _rollup_table(resolution: Resolution) -> str:
    if resolution not in _ROLLUP_TABLES:
        raise ValueError(f"no sample rollup table for resolution {resolution.value!r}")
    return _ROLLUP_TABLES[resolution]


_AGGREGATES = {
    QueryAggregation.COUNT: "count(*)::DOUBLE",
    QueryAggregation.SUM: "sum(value)",
    QueryAggregation.MEAN: "avg(value)",
    QueryAggregation.MIN: "min(value)",
    QueryAggregation.MAX: "max(value)",
    QueryAggregation.LAST: "arg_max(value, ts)",
}


def _aggregate_sql(agg: QueryAggregation) -> str:
    """``agg`` as DuckDB's aggregate over ``value``: percentiles exact, linear
    between the closest ranks (``quantile_cont``, numpy's default)."""
    if agg.quantile is not None:
        return f"quantile_cont(value, {agg.quantile!r})"
    if agg not in _AGGREGATES:
        raise ValueError(f"{agg.value!r} is not aggregated in SQL")
    return _AGGREGATES[agg]


def _in_series(series_ids: Sequence[int] | None) -> tuple[str, list[object]]:
    if series_ids is None:
        return "", []
    return " AND list_contains(%s, series_id)", [list(series_ids)]


_SERIES_COLUMNS = ("project_id", "series_id", "name", "labels", "unit", "last_seen")
_SERIES_TYPES = (pa.string(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.timestamp("us"))
# Batches of samples one transaction may carry.
SAMPLE_GROUP_COMMIT_BATCHES = 64


class DuckDBSampleQueries(SeriesCatalogQueries):
    """Mixed into `DuckDBStorage`."""

    latest_sample_us = LATEST_SAMPLE_US

    _project: str
    _duckdb: DuckDBSession
    _sample_writes: GroupCommit[SampleBatch]

    async def write_samples(self, batch: SampleBatch) -> None:
        # Concurrent batches share a transaction: one commit for what arrived while
        # the last one ran (each caller returns once its rows are committed).
        await self._sample_writes.write(batch)

    async def _commit_samples(self, batches: list[SampleBatch]) -> None:
        table = pa.concat_tables(
            [b.table.select(SAMPLE_SCHEMA.names).cast(SAMPLE_SCHEMA) for b in batches]
        )
        rows = series_rows(self._project, [info for b in batches for info in b.new_series])
        # From Arrow, as the samples: executemany is slow on DuckDB (a burst of new
        # series is thousands of rows).
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(_SERIES_COLUMNS)
        new = pa.table(
            {name: pa.array(column, type=kind) for name, column, kind in zip(
                _SERIES_COLUMNS, columns, _SERIES_TYPES, strict=True)}
        )  # fmt: skip

        def write(cur: Any) -> None:
            if rows:
                cur.register("new_series", new)
                try:
                    cur.execute(
                        f"INSERT INTO sample_series SELECT {', '.join(_SERIES_COLUMNS)} "
                        "FROM new_series ON CONFLICT DO NOTHING"
                    )
                finally:
                    cur.unregister("new_series")
            if table.num_rows:
                cur.register("sample_batch", table)
                try:
                    cur.execute(
                        "INSERT INTO samples SELECT ?, series_id, ts, value FROM sample_batch",
                        [self._project],
                    )
                finally:
                    cur.unregister("sample_batch")

        await self._duckdb.transaction(write)

    async def read_samples(
        self, start: datetime, end: datetime, series_ids: Sequence[int] | None = None
    ) -> pa.Table:
        extra, params = _in_series(series_ids)
        table = await self._duckdb.read_arrow(
            "SELECT series_id, ts, value FROM samples "
            f"WHERE project_id = %s AND ts >= %s AND ts < %s{extra} ORDER BY series_id, ts",
            [self._project, start, end, *params],
        )
        return table.cast(SAMPLE_SCHEMA)

    async def aggregate_samples(
        self,
        start: datetime,
        end: datetime,
        group_of: Mapping[int, int],
        agg: QueryAggregation,
        interval_us: int,
    ) -> pa.Table:
        groups = pa.table(
            {
                "series_id": pa.array(list(group_of), pa.int64()),
                "group_index": pa.array(list(group_of.values()), pa.int64()),
            }
        )
        return await self._duckdb.read_arrow_joined(
            f"SELECT group_index, epoch_us(ts) // {int(interval_us)} AS bucket, "
            f"{_aggregate_sql(agg)} AS value "
            "FROM samples JOIN sample_groups USING (series_id) "
            "WHERE project_id = %s AND ts >= %s AND ts < %s "
            "GROUP BY group_index, bucket ORDER BY group_index, bucket",
            [self._project, start, end],
            {"sample_groups": groups},
        )

    async def sample_time_bounds(self) -> tuple[datetime, datetime] | None:
        ((low, high),) = await self._duckdb.read(
            "SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM samples WHERE project_id = %s",
            [self._project],
        )
        return None if low is None else (from_epoch_us(int(low)), from_epoch_us(int(high)))

    async def delete_samples_before(self, cutoff: datetime) -> None:
        await self._duckdb.write(
            "DELETE FROM samples WHERE project_id = %s AND ts < %s", [self._project, cutoff]
        )

    async def write_sample_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        await self._duckdb.insert_arrow(
            _rollup_table(resolution), table.cast(SAMPLE_ROLLUP_SCHEMA), [self._project]
        )

    async def read_sample_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        series_ids: Sequence[int] | None = None,
    ) -> pa.Table:
        extra, params = _in_series(series_ids)
        table = await self._duckdb.read_arrow(
            f"SELECT {SAMPLE_ROLLUP_COLUMNS} FROM {_rollup_table(resolution)} "
            f"WHERE project_id = %s AND bucket >= %s AND bucket < %s{extra} "
            "ORDER BY series_id, bucket",
            [self._project, start, end, *params],
        )
        return table.cast(SAMPLE_ROLLUP_SCHEMA)

    async def delete_sample_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> None:
        await self._duckdb.write(
            f"DELETE FROM {_rollup_table(resolution)} "
            "WHERE project_id = %s AND bucket >= %s AND bucket < %s",
            [self._project, start, end],
        )
