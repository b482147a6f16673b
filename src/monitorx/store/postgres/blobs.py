"""The PostgreSQL store's blobs (see the "Blobs" part of `Storage`).

Same behaviour as the DuckDB backend's (`duckdb_blobs`), each write one atomic
statement. Blob bytes travel in PostgreSQL's binary format both ways (``%b`` and
``binary=True``): the text format would send every byte as two hex digits.
"""

from __future__ import annotations

__all__ = ["BlobQueries", "purge_model_blobs"]

from monitorx.core import Clock
from monitorx.store.postgres.connection import Connection, PostgresPool
from monitorx.store.storage import BLOB_MODEL_SEPARATOR


async def purge_model_blobs(conn: Connection, project_id: str, model_id: str) -> None:
    """Inside `purge_model_data`'s transaction: drop every blob of the model."""
    await conn.execute(
        "DELETE FROM blobs WHERE project_id = %s AND (key = %s OR starts_with(key, %s))",
        [project_id, model_id, model_id + BLOB_MODEL_SEPARATOR],
    )


class BlobQueries:
    """Blob queries, mixed into `PostgresStorage`."""

    _pool: PostgresPool
    _project: str
    _clock: Clock

    async def put_blob(self, kind: str, key: str, data: bytes) -> None:
        await self._pool.execute(
            "INSERT INTO blobs (project_id, kind, key, data, updated_at) "
            "VALUES (%s, %s, %s, %b, %s) ON CONFLICT (project_id, kind, key) DO UPDATE "
            "SET data = excluded.data, updated_at = excluded.updated_at",
            [self._project, kind, key, data, self._clock.now()],
        )

    async def get_blob(self, kind: str, key: str) -> bytes | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT data FROM blobs WHERE project_id = %s AND kind = %s AND key = %s",
                [self._project, kind, key],
                binary=True,
            )
            found = await cur.fetchone()
        return None if found is None else bytes(found[0])

    async def list_blob_keys(self, kind: str, prefix: str = "") -> list[str]:
        fetched = await self._pool.fetch(
            "SELECT key FROM blobs WHERE project_id = %s AND kind = %s "
            "AND starts_with(key, %s) ORDER BY key",
            [self._project, kind, prefix],
        )
        return [str(key) for (key,) in fetched]

    async def delete_blobs(self, kind: str, prefix: str) -> int:
        return await self._pool.execute(
            "DELETE FROM blobs WHERE project_id = %s AND kind = %s AND starts_with(key, %s)",
            [self._project, kind, prefix],
        )
