"""Events and logs in SQL (DuckDB and PostgreSQL alike), but for the word search.

Events are a plain table, listed newest first with filters. Logs are a table too;
what differs per backend is how a search by words finds them (`LogSearch`):

- PostgreSQL keeps a ``tsvector`` of each message (a generated column,
  ``to_tsvector('simple', message)``) under a GIN index and matches
  ``plainto_tsquery('simple', q)``: every word of ``q``, lower-cased, no stemming;
- DuckDB's full-text extension downloads itself on first use and its index does
  not follow inserts, so the DuckDB store writes an index of its own with the
  rows: ``log_words`` holds one row per distinct word of each message
  (`core.events.search_words`), and a search keeps the logs that hold all the
  words (store.duckdb.logs).
"""

from __future__ import annotations

__all__ = ["EventQueries", "LogQueries", "LogSearch"]

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from monitorx.core.events import Event, EventQuery, LogEntry, LogQuery, LogSeverity, search_words
from monitorx.store.sql import rows
from monitorx.store.sql.session import SQLQueries, Statement

_EVENT_COLUMNS = (
    "id, time, time_end, event_type, model_id, severity, source, message, attributes, "
    "trace_id, tags"
)
_LOG_COLUMNS = "id, time, level, model_id, message, attributes, trace_id, span_id"


def _json(value: object) -> str:
    return orjson.dumps(value, default=str).decode()


class EventQueries(SQLQueries):
    """`Storage.write_events`, `list_events` and `delete_events_before`."""

    async def write_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        await self._sql.write_many(
            f"INSERT INTO events (project_id, {_EVENT_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                [
                    self._project,
                    e.id,
                    e.time,
                    e.time_end,
                    e.event_type,
                    e.model_id,
                    e.severity.level,
                    e.source,
                    e.message,
                    _json(e.attributes),
                    e.trace_id,
                    _json(list(e.tags)),
                ]
                for e in events
            ],
        )

    async def list_events(self, query: EventQuery) -> list[Event]:
        where = ""
        params: list[object] = [self._project]
        for column, value in (
            ("model_id", query.model_id),
            ("event_type", query.event_type),
            ("source", query.source),
        ):
            if value is not None:
                where += f" AND {column} = %s"
                params.append(value)
        if query.start is not None:
            # A region (time_end) is found while it overlaps the range.
            where += " AND coalesce(time_end, time) >= %s"
            params.append(query.start)
        if query.end is not None:
            where += " AND time < %s"
            params.append(query.end)
        found = await self._sql.read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE project_id = %s{where} "
            "ORDER BY time DESC, id LIMIT %s",
            [*params, query.limit],
        )
        return [_event(row) for row in found]

    async def delete_events_before(self, cutoff: datetime) -> None:
        await self._sql.write(
            "DELETE FROM events WHERE project_id = %s AND coalesce(time_end, time) < %s",
            [self._project, cutoff],
        )


class LogSearch:
    """How a backend finds logs by words and stores what that needs."""

    async def _insert_logs(self, rows_: list[list[object]], words: list[list[str]]) -> None:
        """Insert log rows (``project_id, _LOG_COLUMNS``) and, where the backend keeps
        one, their words, in one transaction."""
        raise NotImplementedError

    def _words_clause(
        self, words: list[str], start: datetime | None, end: datetime | None
    ) -> tuple[str, list[object]]:
        """``AND …`` keeping the logs (``logs`` aliased ``l``) holding every word
        (``start`` and ``end``: the query's range, which an index may use)."""
        raise NotImplementedError

    async def _delete_log_words_before(self, cutoff: datetime) -> None:
        """Drop the words of logs older than ``cutoff`` (where kept apart)."""

    def _purge_model_log_steps(self, project: str, model_id: str) -> list[Statement]:
        """The statements that delete a model's events and logs (and their words,
        where kept apart), for `Storage.purge_model_data`."""
        return [
            Statement(
                f"DELETE FROM {table} WHERE project_id = %s AND model_id = %s", [project, model_id]
            )
            for table in ("events", "logs")
        ]


class LogQueries(SQLQueries, LogSearch):
    """`Storage.write_logs`, `search_logs` and `delete_logs_before`."""

    async def write_logs(self, logs: Sequence[LogEntry]) -> None:
        if not logs:
            return
        table: list[list[object]] = [
            [
                self._project,
                e.id,
                e.time,
                e.severity.level,
                e.model_id,
                e.message,
                _json(e.attributes),
                e.trace_id,
                e.span_id,
            ]
            for e in logs
        ]
        await self._insert_logs(table, [search_words(e.message) for e in logs])

    async def search_logs(self, query: LogQuery) -> list[LogEntry]:
        where = ""
        params: list[object] = [self._project]
        for column, value in (("l.model_id", query.model_id), ("l.trace_id", query.trace_id)):
            if value is not None:
                where += f" AND {column} = %s"
                params.append(value)
        if query.severity is not None:
            where += " AND l.level >= %s"
            params.append(query.severity.level)
        if query.start is not None:
            where += " AND l.time >= %s"
            params.append(query.start)
        if query.end is not None:
            where += " AND l.time < %s"
            params.append(query.end)
        words = search_words(query.text or "")
        if words:
            clause, extra = self._words_clause(words, query.start, query.end)
            where += clause
            params += extra
        elif query.text is not None and query.text.strip():
            return []  # words of no letters or digits: nothing holds them
        columns = ", ".join(f"l.{c.strip()}" for c in _LOG_COLUMNS.split(","))
        found = await self._sql.read(
            f"SELECT {columns} FROM logs l WHERE l.project_id = %s{where} "
            "ORDER BY l.time DESC, l.id LIMIT %s",
            [*params, query.limit],
        )
        return [_log(row) for row in found]

    async def delete_logs_before(self, cutoff: datetime) -> None:
        await self._delete_log_words_before(cutoff)
        await self._sql.write(
            "DELETE FROM logs WHERE project_id = %s AND time < %s", [self._project, cutoff]
        )


def _loads(text: str | None) -> Any:
    return orjson.loads(text) if text else {}


def _event(row: tuple[Any, ...]) -> Event:
    (event_id, time, time_end, event_type, model_id, level, source, message, attrs, trace, tags) = (
        row
    )
    return Event(
        id=event_id,
        time=rows.utc(time),
        time_end=None if time_end is None else rows.utc(time_end),
        event_type=event_type,
        model_id=model_id,
        severity=LogSeverity.of_level(int(level)),
        source=source,
        message=message,
        attributes=_loads(attrs),
        trace_id=trace,
        tags=tuple(_loads(tags) or ()),
    )


def _log(row: tuple[Any, ...]) -> LogEntry:
    log_id, time, level, model_id, message, attrs, trace_id, span_id = row
    return LogEntry(
        id=log_id,
        time=rows.utc(time),
        severity=LogSeverity.of_level(int(level)),
        message=message,
        model_id=model_id,
        attributes=_loads(attrs),
        trace_id=trace_id,
        span_id=span_id,
    )
