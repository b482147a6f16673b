"""How the SQL that DuckDB and PostgreSQL share talks to either database.

The shared queries (`store.sql.registry`, `documents`, `blobs`, `markers`,
`series`) are written once, with ``%s`` placeholders, against `SQLSession`; each
backend provides a session (`store.duckdb.session`, `store.postgres.session`) that
runs them its way: DuckDB on its read threads and its serialised write
transactions, PostgreSQL on its pool with one atomic statement per write.
"""

from __future__ import annotations

__all__ = ["Row", "SQLQueries", "SQLSession", "equal_filters"]

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from monitorx.core import Clock

Row = tuple[Any, ...]


class SQLSession(Protocol):
    """One SQL database as the shared queries use it."""

    async def read(
        self, sql: str, params: Sequence[object] = (), *, binary: bool = False
    ) -> list[Row]:
        """Every row of one query (``binary``: fetch bytes columns without text decoding)."""

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one statement as its own transaction; the rows of its ``RETURNING``."""

    async def write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement for each row of parameters, all in one transaction."""

    async def write_all(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        """Run ``(sql, params)`` statements in order, all in one transaction."""

    async def upsert(
        self,
        table: str,
        key: Mapping[str, object],
        values: Mapping[str, object],
        kept: Mapping[str, object] | None = None,
    ) -> bool:
        """Insert the row ``key | values | kept``, or, where a row with ``key``
        exists, replace its ``values`` and keep its stored ``kept`` columns, as one
        atomic step. True when the row was inserted."""


class SQLQueries:
    """What the shared query mixins need of the store they are mixed into."""

    _sql: SQLSession
    _project: str
    _clock: Clock


def equal_filters(filters: Mapping[str, object | None]) -> tuple[str, list[object]]:
    """``AND column = %s`` for each filter that is not None, and their parameters
    (enum members as their values)."""
    text = ""
    params: list[object] = []
    for column, value in filters.items():
        if value is not None:
            text += f" AND {column} = %s"
            params.append(getattr(value, "value", value))
    return text, params
