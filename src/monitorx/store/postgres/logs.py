"""Logs on PostgreSQL, searchable by words with its own text search.

Each row keeps a ``tsvector`` of its message's words under a GIN index; a search
matches ``plainto_tsquery('simple', q)``: every word, lower-cased, no stemming,
no stop words. The vector is made from `core.events.search_words` of the
message (runs of letters and digits), the same words the DuckDB store indexes,
so a search finds the same logs on either backend.
"""

from __future__ import annotations

__all__ = ["PostgresLogSearch"]

from datetime import datetime

from monitorx.store.sql.events import LogSearch
from monitorx.store.sql.session import SQLSession

_INSERT = (
    "INSERT INTO logs (project_id, id, time, level, model_id, message, attributes, "
    "trace_id, span_id, search) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, to_tsvector('simple', %s))"
)


class PostgresLogSearch(LogSearch):
    """`LogSearch` with a ``tsvector`` column and a GIN index."""

    _sql: SQLSession

    async def _insert_logs(self, rows_: list[list[object]], words: list[list[str]]) -> None:
        await self._sql.write_many(
            _INSERT, [[*row, " ".join(w)] for row, w in zip(rows_, words, strict=True)]
        )

    def _words_clause(
        self, words: list[str], start: datetime | None, end: datetime | None
    ) -> tuple[str, list[object]]:
        return " AND l.search @@ plainto_tsquery('simple', %s)", [" ".join(words)]

    async def _delete_log_words_before(self, cutoff: datetime) -> None:
        return None
