"""Spans on PostgreSQL: a batch is one binary COPY (`postgres.binary_copy`), so one
statement and one transaction, encoded column-wise off the event loop."""

from __future__ import annotations

__all__ = ["PostgresSpanQueries"]

import asyncio

import pyarrow as pa
from psycopg import sql

from monitorx.store.postgres.binary_copy import encode_binary_copy
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.spans import SPAN_COLUMNS, SPAN_SCHEMA
from monitorx.store.sql.spans import SpanQueries

_COPY_SPANS_IN = sql.SQL("COPY spans ({}) FROM STDIN (FORMAT binary)").format(
    sql.SQL(", ").join(map(sql.Identifier, ("project_id", *SPAN_COLUMNS)))
)


def _encode(table: pa.Table, project_id: str) -> list[memoryview]:
    table = table.select(SPAN_SCHEMA.names).cast(SPAN_SCHEMA)
    table = table.add_column(0, "project_id", pa.repeat(project_id, table.num_rows))
    return encode_binary_copy(table)


class PostgresSpanQueries(SpanQueries):
    """Mixed into `PostgresStorage`."""

    _pool: PostgresPool

    async def write_spans(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        buffers = await asyncio.to_thread(_encode, table, self._project)
        async with (
            self._pool.connection() as conn,
            conn.cursor() as cur,
            cur.copy(_COPY_SPANS_IN) as copy,
        ):
            for buffer in buffers:
                await copy.write(buffer)
