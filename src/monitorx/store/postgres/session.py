"""The shared SQL (`store.sql`) on PostgreSQL: each write one atomic statement on
the pool, so that replicas sharing the database cannot interleave a read and a write."""

from __future__ import annotations

__all__ = ["PostgresSession"]

from collections.abc import Mapping, Sequence

from monitorx.core import LeaseLost
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.sql.session import (
    Guard,
    Row,
    Statement,
    Step,
    Upsert,
    multi_row_upsert,
    upsert_groups,
)


def _mark(value: object) -> str:
    # Bytes go as binary parameters: no hex encoding of a blob of tens of MB.
    return "%b" if isinstance(value, bytes) else "%s"


class PostgresSession:
    """`SQLSession` over a `PostgresPool` (autocommit connections)."""

    def __init__(self, pool: PostgresPool) -> None:
        self._pool = pool

    async def read(
        self, sql: str, params: Sequence[object] = (), *, binary: bool = False
    ) -> list[Row]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, list(params), binary=binary)
            return await cur.fetchall()

    async def write(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        if "RETURNING" in sql.upper():
            return await self._pool.fetch(sql, list(params))
        await self._pool.execute(sql, list(params))
        return []

    async def write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        async with self._pool.transaction() as conn, conn.cursor() as cur:
            await cur.executemany(sql, [list(r) for r in rows])

    async def write_all(self, steps: Sequence[Step]) -> None:
        async with self._pool.transaction() as conn:
            for group in upsert_groups(steps):
                if isinstance(group, Guard):
                    cur = await conn.execute(group.sql, list(group.params))
                    if await cur.fetchone() is None:
                        raise LeaseLost(group.refusal)  # rolls the transaction back
                    continue
                step = group if isinstance(group, Statement) else multi_row_upsert(group)
                await conn.execute(step.sql, list(step.params))

    async def upsert(
        self,
        table: str,
        key: Mapping[str, object],
        values: Mapping[str, object],
        kept: Mapping[str, object] | None = None,
    ) -> bool:
        sql, params = _upsert(Upsert(table, key, values, kept or {}))
        ((created,),) = await self._pool.fetch(sql, params)
        return bool(created)


def _upsert(step: Upsert) -> tuple[str, list[object]]:
    """One atomic statement; it returns ``xmax = 0``, which holds for a row this
    statement inserted, not for one it updated."""
    row = dict(step.key) | dict(step.values) | dict(step.kept)
    updates = ", ".join(f"{name} = excluded.{name}" for name in step.values)
    sql = (
        f"INSERT INTO {step.table} ({', '.join(row)}) "
        f"VALUES ({', '.join(_mark(v) for v in row.values())}) "
        f"ON CONFLICT ({', '.join(step.key)}) DO UPDATE SET {updates} RETURNING xmax = 0"
    )
    return sql, list(row.values())
