"""The shared SQL (`store.sql`) on PostgreSQL: each write one atomic statement on
the pool, so that replicas sharing the database cannot interleave a read and a write."""

from __future__ import annotations

__all__ = ["PostgresSession"]

from collections.abc import Mapping, Sequence

from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.sql.session import Row


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

    async def write_all(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        async with self._pool.transaction() as conn:
            for sql, params in statements:
                await conn.execute(sql, list(params))

    async def upsert(
        self,
        table: str,
        key: Mapping[str, object],
        values: Mapping[str, object],
        kept: Mapping[str, object] | None = None,
    ) -> bool:
        """``xmax = 0`` holds for a row this statement inserted, not for one it updated."""
        row = dict(key) | dict(values) | dict(kept or {})
        updates = ", ".join(f"{name} = excluded.{name}" for name in values)
        text = (
            f"INSERT INTO {table} ({', '.join(row)}) "
            f"VALUES ({', '.join(_mark(v) for v in row.values())}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates} RETURNING xmax = 0"
        )
        ((created,),) = await self._pool.fetch(text, list(row.values()))
        return bool(created)
