"""Spans in SQL (DuckDB and PostgreSQL alike): the trace list, aggregated per trace
from its spans, one trace's spans, and retention. Each backend appends spans its
own fast way (`store.duckdb.spans`, `store.postgres.spans`)."""

from __future__ import annotations

__all__ = ["SpanQueries"]

from datetime import datetime, timedelta

import orjson

from monitorx.core.traces import StoredSpan, TraceSummary
from monitorx.store.spans import SPAN_COLUMNS, TraceQuery
from monitorx.store.sql import rows
from monitorx.store.sql.session import SQLQueries

_SELECT_SPANS = ", ".join(SPAN_COLUMNS)
# Per trace: the root span's name (any span's where the root has not arrived), its
# extent, a model of its spans, and its spans' count, failures and tokens.
_SUMMARY = (
    "SELECT trace_id, "
    "coalesce(max(name) FILTER (WHERE parent_span_id IS NULL), min(name)), "
    "min(start_ts), max(end_ts), min(model_id), count(*), "
    "bool_or(status = 'error'), sum(input_tokens), sum(output_tokens), max(session_id) "
    "FROM spans WHERE project_id = %s AND start_ts >= %s AND start_ts < %s"
)
# The newest traces of a range are looked for in its latest 1/64 first, then a
# window four times as long, and so on: a list of the newest 100 of a million spans
# reads the spans of the last minute, not the hour.
_FIRST_WINDOW_PART = 64
_WINDOW_GROWTH = 4


def _span(row: tuple[object, ...]) -> StoredSpan:
    (trace_id, span_id, parent, name, kind, start, end, status, message, model_id,
     session_id, input_tokens, output_tokens, attributes, resource, events) = row  # fmt: skip
    assert isinstance(start, datetime) and isinstance(end, datetime)
    return StoredSpan(
        trace_id=str(trace_id),
        span_id=str(span_id),
        parent_span_id=None if parent is None else str(parent),
        name=str(name),
        kind=int(kind),  # type: ignore[call-overload]
        start=rows.utc(start) if start.tzinfo is None else start,
        end=rows.utc(end) if end.tzinfo is None else end,
        status=str(status),
        status_message=None if message is None else str(message),
        model_id=None if model_id is None else str(model_id),
        session_id=None if session_id is None else str(session_id),
        input_tokens=None if input_tokens is None else int(input_tokens),  # type: ignore[call-overload]
        output_tokens=None if output_tokens is None else int(output_tokens),  # type: ignore[call-overload]
        attributes=orjson.loads(str(attributes)),
        resource=orjson.loads(str(resource)),
        events=orjson.loads(str(events)),
    )


def _aware(when: datetime) -> datetime:
    return rows.utc(when) if when.tzinfo is None else when


class SpanQueries(SQLQueries):
    """`Storage.list_traces`, `get_trace` and `delete_spans_before`."""

    async def list_traces(self, query: TraceQuery) -> list[TraceSummary]:
        # A trace starting at or after ``low`` has a span in [low, end): those spans
        # name every such trace; each is then summed up over the whole range (its
        # earlier spans too), and the ones that truly start before ``low`` left out.
        # With `limit` traces from the window, no older trace can be newer than them.
        window = (query.end - query.start) / _FIRST_WINDOW_PART
        while True:
            low = query.end - window
            if low <= query.start:
                return await self._summaries(query, None)
            found = await self._summaries(query, low)
            if len(found) >= query.limit:
                return found
            window *= _WINDOW_GROWTH

    async def _summaries(self, query: TraceQuery, low: datetime | None) -> list[TraceSummary]:
        """The newest traces of the query's range, among those starting at or after
        ``low`` (None: all)."""
        sql = _SUMMARY
        params: list[object] = [self._project, query.start, query.end]
        having: list[str] = []
        # The traces to sum up are named by their spans that can qualify them: a
        # trace starting at or after ``low`` has all its spans of the range there,
        # and a filter on a span's value needs one span with it.
        named, named_params = "", []
        for column, value in (("model_id", query.model_id), ("session_id", query.session_id)):
            if value is not None:
                named += f" AND {column} = %s"
                named_params.append(value)
        if query.error:
            named += " AND status = 'error'"
        if low is not None or named:
            sql += (
                " AND trace_id IN (SELECT trace_id FROM spans WHERE project_id = %s "
                f"AND start_ts >= %s AND start_ts < %s{named})"
            )
            params += [self._project, low or query.start, query.end, *named_params]
        if low is not None:
            having.append("min(start_ts) >= %s")
            params.append(low)
        sql += " GROUP BY trace_id"
        if query.model_id is not None:
            having.append("bool_or(model_id = %s)")
            params.append(query.model_id)
        if query.session_id is not None:
            having.append("bool_or(session_id = %s)")
            params.append(query.session_id)
        if query.error is not None:
            having.append("bool_or(status = 'error') = %s")
            params.append(query.error)
        if query.min_duration_ms is not None:
            having.append("max(end_ts) - min(start_ts) >= %s")
            params.append(timedelta(milliseconds=query.min_duration_ms))
        if having:
            sql += " HAVING " + " AND ".join(having)
        sql += " ORDER BY min(start_ts) DESC, trace_id LIMIT %s"
        params.append(query.limit)
        found = await self._sql.read(sql, params)
        return [
            TraceSummary(
                trace_id=trace_id,
                name=name,
                start=_aware(start),
                duration_ms=(end - start).total_seconds() * 1000.0,
                model_id=model_id,
                span_count=int(count),
                error=bool(error),
                input_tokens=None if inputs is None else int(inputs),
                output_tokens=None if outputs is None else int(outputs),
                session_id=session_id,
            )
            for (
                trace_id,
                name,
                start,
                end,
                model_id,
                count,
                error,
                inputs,
                outputs,
                session_id,
            ) in found
        ]

    async def get_trace(self, trace_id: str) -> list[StoredSpan]:
        found = await self._sql.read(
            f"SELECT {_SELECT_SPANS} FROM spans WHERE project_id = %s AND trace_id = %s "
            "ORDER BY start_ts, span_id",
            [self._project, trace_id],
        )
        return [_span(row) for row in found]

    async def delete_spans_before(self, cutoff: datetime) -> None:
        await self._sql.write(
            "DELETE FROM spans WHERE project_id = %s AND start_ts < %s", [self._project, cutoff]
        )
