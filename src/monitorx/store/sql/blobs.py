"""Blobs in SQL (see the "Blobs" part of `Storage`): opaque bytes, such as the
Parquet files of drift reference sets and logged records, named by a kind and a key."""

from __future__ import annotations

__all__ = ["PURGE_MODEL_BLOBS", "BlobQueries"]

from monitorx.store.sql.session import SQLQueries

# Inside `purge_model_data`'s transaction, with (project, model id, model id + "/"):
# every blob of the model (`BLOB_MODEL_SEPARATOR`).
PURGE_MODEL_BLOBS = "DELETE FROM blobs WHERE project_id = %s AND (key = %s OR starts_with(key, %s))"


class BlobQueries(SQLQueries):
    """Blob queries, mixed into an SQL store."""

    async def put_blob(self, kind: str, key: str, data: bytes) -> None:
        await self._sql.upsert(
            "blobs",
            {"project_id": self._project, "kind": kind, "key": key},
            {"data": data, "updated_at": self._clock.now()},
        )

    async def get_blob(self, kind: str, key: str) -> bytes | None:
        found = await self._sql.read(
            "SELECT data FROM blobs WHERE project_id = %s AND kind = %s AND key = %s",
            [self._project, kind, key],
            binary=True,
        )
        return bytes(found[0][0]) if found else None

    async def list_blob_keys(self, kind: str, prefix: str = "") -> list[str]:
        fetched = await self._sql.read(
            "SELECT key FROM blobs WHERE project_id = %s AND kind = %s "
            "AND starts_with(key, %s) ORDER BY key",
            [self._project, kind, prefix],
        )
        return [str(key) for (key,) in fetched]

    async def delete_blobs(self, kind: str, prefix: str) -> int:
        deleted = await self._sql.write(
            "DELETE FROM blobs WHERE project_id = %s AND kind = %s AND starts_with(key, %s) "
            "RETURNING key",
            [self._project, kind, prefix],
        )
        return len(deleted)
