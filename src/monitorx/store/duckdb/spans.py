"""Spans on the embedded store: a batch is one Arrow append in one transaction."""

from __future__ import annotations

__all__ = ["DuckDBSpanQueries"]

import pyarrow as pa

from monitorx.store.duckdb.session import DuckDBSession
from monitorx.store.spans import SPAN_SCHEMA
from monitorx.store.sql.spans import SpanQueries


class DuckDBSpanQueries(SpanQueries):
    """Mixed into `DuckDBStorage`."""

    _duckdb: DuckDBSession

    async def write_spans(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(SPAN_SCHEMA.names).cast(SPAN_SCHEMA)
        await self._duckdb.insert_arrow("spans", table, [self._project])
