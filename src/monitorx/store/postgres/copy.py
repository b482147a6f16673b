"""Batches in and out of PostgreSQL with COPY, Arrow on our side.

In: metric batches and rollups as binary COPY, which `postgres_binary_copy` encodes
column-wise with numpy and Arrow. Out: raw metrics as CSV that pyarrow parses in
C++. No Python code runs per row either way.

On the way out, CSV's two empty values carry SQL's distinction: an unquoted empty
field is NULL, a quoted one (``""``) the empty string; pyarrow is told to read them
so.
"""

from __future__ import annotations

__all__ = [
    "batch_days",
    "copy_metrics_in",
    "copy_out",
    "copy_rollups_in",
    "metric_copy_rows",
    "read_csv_table",
]

import asyncio
import io
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql

from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA, ROLLUP_SCHEMA
from monitorx.store.postgres.binary_copy import (
    COPY_HEADER,
    COPY_TRAILER,
    encode_binary_copy,
    encode_binary_rows,
)
from monitorx.store.postgres.connection import Connection
from monitorx.store.postgres.schema import METRIC_COLUMNS


def _copy_in(table: str, columns: tuple[str, ...]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


# Rows encoded per piece of a metric COPY: large enough that Arrow's per-call cost
# is small against the rows, small enough that a 100,000-row batch starts flowing
# to the server after a quarter of its encoding.
COPY_PIECE_ROWS = 25_000
_COPY_METRICS_IN = _copy_in("inference_metrics", METRIC_COLUMNS)
_COPY_ROLLUPS_IN = _copy_in("rollups", ("project_id", "resolution", *ROLLUP_SCHEMA.names))


def metric_copy_rows(table: pa.Table, project_id: str) -> memoryview:
    """Binary COPY rows for ``inference_metrics`` of a METRIC_BATCH_SCHEMA table."""
    table = table.select(METRIC_BATCH_SCHEMA.names).cast(METRIC_BATCH_SCHEMA)
    table = table.add_column(0, "project_id", pa.repeat(project_id, table.num_rows))
    return encode_binary_rows(table)


def batch_days(table: pa.Table) -> list[date]:
    """The UTC days a batch's timestamps fall on (the partitions it needs)."""
    days = pc.unique(pc.floor_temporal(table.column("ts"), unit="day"))
    return [when.date() for when in days.to_pylist() if when is not None]


async def copy_metrics_in(conn: Connection, table: pa.Table, project_id: str) -> None:
    """One COPY of a batch: one statement, so in autocommit one transaction,
    committed (and with synchronous_commit, flushed) when this returns.

    The batch is encoded in pieces on a worker thread, each piece while the one
    before it is on its way: the server, which is the bottleneck, starts on the
    first rows without waiting for the whole batch to be encoded.
    """
    if table.num_rows == 0:
        return

    def encode(start: int) -> memoryview:
        return metric_copy_rows(table.slice(start, COPY_PIECE_ROWS), project_id)

    starts = range(0, table.num_rows, COPY_PIECE_ROWS)
    upcoming = asyncio.ensure_future(asyncio.to_thread(encode, starts[0]))
    try:
        async with conn.cursor() as cur, cur.copy(_COPY_METRICS_IN) as copy:
            await copy.write(COPY_HEADER)
            for following in [*starts[1:], None]:
                rows = await upcoming
                if following is not None:
                    upcoming = asyncio.ensure_future(asyncio.to_thread(encode, following))
                await copy.write(rows)
            await copy.write(COPY_TRAILER)
    finally:
        if not upcoming.done():
            upcoming.cancel()
        elif not upcoming.cancelled():
            upcoming.exception()  # seen: the COPY's own failure is the one reported


async def copy_rollups_in(
    conn: Connection, project_id: str, resolution: str, table: pa.Table
) -> None:
    """Rollup rows (ROLLUP_SCHEMA) through one binary COPY."""
    table = table.select(ROLLUP_SCHEMA.names).cast(ROLLUP_SCHEMA)
    table = table.add_column(0, "resolution", pa.repeat(resolution, table.num_rows))
    table = table.add_column(0, "project_id", pa.repeat(project_id, table.num_rows))
    async with conn.cursor() as cur, cur.copy(_COPY_ROLLUPS_IN) as copy:
        for buffer in encode_binary_copy(table):
            await copy.write(buffer)


async def copy_out(conn: Connection, query: sql.Composable) -> bytes:
    """The CSV that ``COPY (query) TO STDOUT`` produces."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
    chunks: list[bytes] = []
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        async for chunk in copy:
            chunks.append(bytes(chunk))
    return b"".join(chunks)


def read_csv_table(csv: bytes, schema: pa.Schema) -> pa.Table:
    """Parse header-less COPY CSV into ``schema``'s columns (PostgreSQL writes
    booleans as ``t``/``f``)."""
    if not csv:
        return schema.empty_table()
    read = pa_csv.ReadOptions(column_names=schema.names, use_threads=True)
    convert = pa_csv.ConvertOptions(
        column_types=schema,
        true_values=["t"],
        false_values=["f"],
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    return pa_csv.read_csv(io.BytesIO(csv), read_options=read, convert_options=convert)
