"""Spans on the InfluxDB backend: kept in its side DuckDB store, as its other
non-series records are. A span is not a series point: the trace list groups spans
by trace id and a trace is read by id, which InfluxDB would answer by scanning
every tag value of a measurement, and each span's attributes and events are
free-form JSON, which InfluxDB holds only as unindexed string fields."""

from __future__ import annotations

__all__ = ["InfluxSideSpans"]

from datetime import datetime

import pyarrow as pa

from monitorx.core.traces import StoredSpan, TraceSummary
from monitorx.store.duckdb.storage import DuckDBStorage
from monitorx.store.spans import TraceQuery


class InfluxSideSpans:
    """Mixed into `InfluxStorage`: every span call goes to the side store."""

    _side: DuckDBStorage

    async def write_spans(self, table: pa.Table) -> None:
        await self._side.write_spans(table)

    async def list_traces(self, query: TraceQuery) -> list[TraceSummary]:
        return await self._side.list_traces(query)

    async def get_trace(self, trace_id: str) -> list[StoredSpan]:
        return await self._side.get_trace(trace_id)

    async def delete_spans_before(self, cutoff: datetime) -> None:
        await self._side.delete_spans_before(cutoff)
