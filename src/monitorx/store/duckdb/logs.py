"""Logs on DuckDB, searchable by words without the full-text extension.

DuckDB's FTS extension is downloaded on first use (an offline server has none)
and its index is built once, not kept up as rows arrive. So the store keeps an
index of its own, written in the same transaction as the log rows: ``log_words``
holds one row per distinct word of each message (`core.events.search_words`),
with the log's time. A search by words reads the rows of those words only
(DuckDB scans the ``word`` column, compressed and pruned by the time range) and
keeps the logs holding all of them: ``GROUP BY log_id HAVING count(*) = n``.
docs/events-and-logs.md gives the measured cost.
"""

from __future__ import annotations

__all__ = ["DuckDBLogSearch"]

from datetime import datetime
from typing import Any

import pyarrow as pa

from monitorx.store.duckdb.session import DuckDBSession
from monitorx.store.sql import rows
from monitorx.store.sql.events import LogSearch
from monitorx.store.sql.session import Statement

_LOG_FIELDS = (
    ("project_id", pa.string()),
    ("id", pa.string()),
    ("time", pa.timestamp("us")),
    ("level", pa.int32()),
    ("model_id", pa.string()),
    ("message", pa.string()),
    ("attributes", pa.string()),
    ("trace_id", pa.string()),
    ("span_id", pa.string()),
)


class DuckDBLogSearch(LogSearch):
    """`LogSearch` with the ``log_words`` table (see the module docstring)."""

    _duckdb: DuckDBSession
    _project: str

    async def _insert_logs(self, rows_: list[list[object]], words: list[list[str]]) -> None:
        columns: list[list[Any]] = [[] for _ in _LOG_FIELDS]
        for row in rows_:
            for index, value in enumerate(row):
                columns[index].append(value)
        columns[2] = [rows.naive_utc(t) for t in columns[2]]
        logs = pa.table(
            [
                pa.array(values, kind)
                for values, (_, kind) in zip(columns, _LOG_FIELDS, strict=True)
            ],
            names=[name for name, _ in _LOG_FIELDS],
        )
        log_ids: list[str] = []
        times: list[datetime] = []
        flat: list[str] = []
        for log_id, time, log_words in zip(columns[1], columns[2], words, strict=True):
            log_ids += [log_id] * len(log_words)
            times += [time] * len(log_words)
            flat += log_words
        word_table = pa.table(
            {
                "project_id": pa.array([self._project] * len(flat), pa.string()),
                "log_id": pa.array(log_ids, pa.string()),
                "time": pa.array(times, pa.timestamp("us")),
                "word": pa.array(flat, pa.string()),
            }
        )
        names = ", ".join(logs.column_names)

        def insert(cur: Any) -> None:
            cur.register("log_batch", logs)
            cur.register("log_word_batch", word_table)
            try:
                cur.execute(f"INSERT INTO logs ({names}) SELECT {names} FROM log_batch")
                cur.execute(
                    "INSERT INTO log_words (project_id, log_id, time, word) "
                    "SELECT project_id, log_id, time, word FROM log_word_batch"
                )
            finally:
                cur.unregister("log_batch")
                cur.unregister("log_word_batch")

        await self._duckdb.transaction(insert)

    def _words_clause(
        self, words: list[str], start: datetime | None, end: datetime | None
    ) -> tuple[str, list[object]]:
        where = "project_id = %s"
        params: list[object] = [self._project]
        if start is not None:
            where += " AND time >= %s"
            params.append(start)
        if end is not None:
            where += " AND time < %s"
            params.append(end)
        if len(words) == 1:
            return f" AND l.id IN (SELECT log_id FROM log_words WHERE {where} AND word = %s)", [
                *params,
                words[0],
            ]
        marks = ", ".join(["%s"] * len(words))
        return (
            f" AND l.id IN (SELECT log_id FROM log_words WHERE {where} "
            f"AND word IN ({marks}) GROUP BY log_id HAVING count(*) = %s)",
            [*params, *words, len(words)],
        )

    async def _delete_log_words_before(self, cutoff: datetime) -> None:
        await self._duckdb.write(
            "DELETE FROM log_words WHERE project_id = %s AND time < %s", [self._project, cutoff]
        )

    def _purge_model_log_steps(self, project: str, model_id: str) -> list[Statement]:
        words = Statement(
            "DELETE FROM log_words WHERE project_id = %s AND log_id IN "
            "(SELECT id FROM logs WHERE project_id = %s AND model_id = %s)",
            [project, project, model_id],
        )
        return [words, *super()._purge_model_log_steps(project, model_id)]
