"""PostgreSQL's custom metrics (see `SampleStore`): series in ``sample_series``,
samples in ``samples`` through binary COPY in and CSV COPY out (no Python per row),
rollups per series in ``sample_rollups``."""

from __future__ import annotations

__all__ = ["PostgresSampleQueries"]

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from psycopg import sql

from monitorx.store.postgres.binary_copy import encode_binary_copy
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.postgres.copy import copy_out, read_csv_table
from monitorx.store.queries import Resolution
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
from monitorx.store.sql.session import SQLSession

_EPOCH_US = "(extract(epoch FROM ts) * 1000000)::bigint"
_COPY_SAMPLES_IN = sql.SQL(
    "COPY samples (project_id, series_id, ts, value) FROM STDIN (FORMAT binary)"
)
_COPY_ROLLUPS_IN = sql.SQL(
    f"COPY sample_rollups (project_id, resolution, {SAMPLE_ROLLUP_COLUMNS}) "
    "FROM STDIN (FORMAT binary)"
)
_CSV_SCHEMA = pa.schema([("series_id", pa.int64()), ("ts", pa.int64()), ("value", pa.float64())])


def _resolution(resolution: Resolution) -> str:
    if resolution is Resolution.RAW:
        raise ValueError("raw samples are not rollups: use a minute or hour resolution")
    return resolution.value


def _series_filter(series_ids: Sequence[int] | None) -> sql.Composable:
    if series_ids is None:
        return sql.SQL("")
    return sql.SQL(" AND series_id = ANY({})").format(sql.Literal(list(series_ids)))


def _samples_from_csv(csv: bytes) -> pa.Table:
    table = read_csv_table(csv, _CSV_SCHEMA)
    return pa.table(
        [
            table.column("series_id"),
            table.column("ts").cast(pa.timestamp("us")),
            table.column("value"),
        ],
        schema=SAMPLE_SCHEMA,
    )


class PostgresSampleQueries(SeriesCatalogQueries):
    """Mixed into `PostgresStorage`."""

    latest_sample_us = LATEST_SAMPLE_US

    _pool: PostgresPool
    _project: str
    _sql: SQLSession

    async def write_samples(self, batch: SampleBatch) -> None:
        table = batch.table.select(SAMPLE_SCHEMA.names).cast(SAMPLE_SCHEMA)
        table = table.add_column(0, "project_id", pa.repeat(self._project, table.num_rows))
        new = series_rows(self._project, batch.new_series)
        async with self._pool.transaction() as conn:
            if new:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO sample_series VALUES (%s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
                        new,
                    )
            if table.num_rows:
                async with conn.cursor() as cur, cur.copy(_COPY_SAMPLES_IN) as copy:
                    for buffer in encode_binary_copy(table):
                        await copy.write(buffer)

    async def read_samples(
        self, start: datetime, end: datetime, series_ids: Sequence[int] | None = None
    ) -> pa.Table:
        query = sql.SQL(
            "SELECT series_id, {epoch}, value FROM samples WHERE project_id = {project} "
            "AND ts >= {start} AND ts < {end}{series} ORDER BY series_id, ts"
        ).format(
            epoch=sql.SQL(_EPOCH_US),
            project=sql.Literal(self._project),
            start=sql.Literal(start),
            end=sql.Literal(end),
            series=_series_filter(series_ids),
        )
        async with self._pool.connection() as conn:
            csv = await copy_out(conn, query)
        return await asyncio.to_thread(_samples_from_csv, csv)

    async def sample_time_bounds(self) -> tuple[datetime, datetime] | None:
        ((low, high),) = await self._pool.fetch(
            "SELECT min(ts), max(ts) FROM samples WHERE project_id = %s", [self._project]
        )
        return None if low is None else (low.astimezone(UTC), high.astimezone(UTC))

    async def delete_samples_before(self, cutoff: datetime) -> None:
        await self._pool.execute(
            "DELETE FROM samples WHERE project_id = %s AND ts < %s", [self._project, cutoff]
        )

    async def write_sample_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(SAMPLE_ROLLUP_SCHEMA.names).cast(SAMPLE_ROLLUP_SCHEMA)
        name = _resolution(resolution)
        table = table.add_column(0, "resolution", pa.repeat(name, table.num_rows))
        table = table.add_column(0, "project_id", pa.repeat(self._project, table.num_rows))
        async with (
            self._pool.connection() as conn,
            conn.cursor() as cur,
            cur.copy(_COPY_ROLLUPS_IN) as copy,
        ):
            for buffer in encode_binary_copy(table):
                await copy.write(buffer)

    async def read_sample_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        series_ids: Sequence[int] | None = None,
    ) -> pa.Table:
        query = sql.SQL(
            f"SELECT {SAMPLE_ROLLUP_COLUMNS} FROM sample_rollups WHERE project_id = {{}} "
            "AND resolution = {} AND bucket >= {} AND bucket < {}{} ORDER BY series_id, bucket"
        ).format(
            sql.Literal(self._project),
            sql.Literal(_resolution(resolution)),
            sql.Literal(start),
            sql.Literal(end),
            _series_filter(series_ids),
        )
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, binary=True)
            fetched: list[tuple[Any, ...]] = await cur.fetchall()
        columns: list[list[Any]] = [list(c) for c in zip(*fetched, strict=True)] or [
            [] for _ in SAMPLE_ROLLUP_SCHEMA.names
        ]
        for name in ("bucket", "last_ts"):
            index = SAMPLE_ROLLUP_SCHEMA.get_field_index(name)
            columns[index] = [w.astimezone(UTC).replace(tzinfo=None) for w in columns[index]]
        sketch = SAMPLE_ROLLUP_SCHEMA.get_field_index("sketch")
        columns[sketch] = [bytes(b) for b in columns[sketch]]
        return pa.Table.from_arrays(
            [pa.array(v, f.type) for v, f in zip(columns, SAMPLE_ROLLUP_SCHEMA, strict=True)],
            schema=SAMPLE_ROLLUP_SCHEMA,
        )

    async def delete_sample_rollups(
        self, resolution: Resolution, start: datetime, end: datetime
    ) -> None:
        await self._pool.execute(
            "DELETE FROM sample_rollups WHERE project_id = %s AND resolution = %s "
            "AND bucket >= %s AND bucket < %s",
            [self._project, _resolution(resolution), start, end],
        )
