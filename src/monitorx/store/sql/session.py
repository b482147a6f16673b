"""How the SQL that DuckDB and PostgreSQL share talks to either database.

The shared queries (`store.sql.registry`, `documents`, `blobs`, `markers`,
`series`) are written once, with ``%s`` placeholders, against `SQLSession`; each
backend provides a session (`store.duckdb.session`, `store.postgres.session`) that
runs them its way: DuckDB on its read threads and its serialised write
transactions, PostgreSQL on its pool with one atomic statement per write.
"""

from __future__ import annotations

__all__ = [
    "Guard",
    "Row",
    "SQLQueries",
    "SQLSession",
    "Statement",
    "Step",
    "Upsert",
    "equal_filters",
    "multi_row_upsert",
    "upsert_groups",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitorx.core import Clock

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement with its parameters (``%s`` placeholders)."""

    sql: str
    params: Sequence[object] = ()


@dataclass(frozen=True, slots=True)
class Upsert:
    """Insert the row ``key | values | kept``, or, where a row with ``key`` exists,
    replace its ``values`` and keep its stored ``kept`` columns."""

    table: str
    key: Mapping[str, object]
    values: Mapping[str, object]
    kept: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Guard:
    """A statement that must return a row for its transaction to go on: when it
    returns none, the transaction is rolled back and `LeaseLost` raised with
    ``refusal`` (a fence: the write of a holder whose lease was taken over)."""

    sql: str
    params: Sequence[object]
    refusal: str


Step = Statement | Upsert | Guard


# Rows of one multi-row upsert: far below PostgreSQL's 65,535 parameters a statement.
UPSERT_ROWS = 500


def upsert_groups(steps: Sequence[Step]) -> list[Statement | Guard | list[Upsert]]:
    """The steps with each run of upserts into the same table and columns gathered
    (the last of several upserts of one key kept, at most `UPSERT_ROWS` a run), so
    that a backend can write a run as one multi-row statement."""
    grouped: list[Statement | Guard | list[Upsert]] = []
    for step in steps:
        if isinstance(step, Statement | Guard):
            grouped.append(step)
            continue
        last = grouped[-1] if grouped else None
        if isinstance(last, list) and _shape(last[0]) == _shape(step):
            last.append(step)
        else:
            grouped.append([step])
    chunked: list[Statement | Guard | list[Upsert]] = []
    for group in grouped:
        if isinstance(group, Statement | Guard):
            chunked.append(group)
            continue
        unique = list({tuple(s.key.values()): s for s in group}.values())
        chunked += [unique[i : i + UPSERT_ROWS] for i in range(0, len(unique), UPSERT_ROWS)]
    return chunked


def _shape(step: Upsert) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return (step.table, tuple(step.key), tuple(step.values), tuple(step.kept))


def multi_row_upsert(run: Sequence[Upsert], mark: str = "%s") -> Statement:
    """One ``INSERT … ON CONFLICT … DO UPDATE`` for a run of `upsert_groups` (its keys
    unique): the ``kept`` columns are written on insert and left as stored on update."""
    first = run[0]
    columns = [*first.key, *first.values, *first.kept]
    row = "(" + ", ".join([mark] * len(columns)) + ")"
    updates = ", ".join(f"{name} = excluded.{name}" for name in first.values)
    sql = (
        f"INSERT INTO {first.table} ({', '.join(columns)}) VALUES "
        + ", ".join([row] * len(run))
        + f" ON CONFLICT ({', '.join(first.key)}) DO UPDATE SET {updates}"
    )
    params = [
        value
        for step in run
        for value in (*step.key.values(), *step.values.values(), *step.kept.values())
    ]
    return Statement(sql, params)


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

    async def write_all(self, steps: Sequence[Step]) -> None:
        """Run the steps in order, all in one transaction."""

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
