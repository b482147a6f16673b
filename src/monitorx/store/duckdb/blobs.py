"""The embedded store's blobs (see the "Blobs" part of `Storage`): opaque bytes,
such as the Parquet files of a model's drift reference set and logged records."""

from __future__ import annotations

__all__ = ["BlobQueries", "purge_model_blobs"]

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from monitorx.core import Clock
from monitorx.store import stored_rows as rows
from monitorx.store.storage import BLOB_MODEL_SEPARATOR

T = TypeVar("T")


class _Backend(Protocol):
    """What the queries need of the store they are mixed into."""

    _project: str
    _clock: Clock

    async def _run(self: _Backend, fn: Callable[[Any], T]) -> T: ...

    async def _write(self: _Backend, fn: Callable[[Any], T]) -> T: ...


def purge_model_blobs(cur: Any, project_id: str, model_id: str) -> None:
    """Inside `purge_model_data`'s transaction: drop every blob of the model."""
    cur.execute(
        "DELETE FROM blobs WHERE project_id = ? AND (key = ? OR starts_with(key, ?))",
        [project_id, model_id, model_id + BLOB_MODEL_SEPARATOR],
    )


class BlobQueries:
    """Mixed into `DuckDBStorage`, which provides the connection and transactions."""

    async def put_blob(self: _Backend, kind: str, key: str, data: bytes) -> None:
        ids = [self._project, kind, key]

        def replace(cur: Any) -> None:
            # Delete, then insert: DuckDB's INSERT OR REPLACE is ten times slower on
            # a blob of tens of MB.
            cur.execute("DELETE FROM blobs WHERE project_id = ? AND kind = ? AND key = ?", ids)
            now = rows.naive_utc(self._clock.now())
            cur.execute("INSERT INTO blobs VALUES (?, ?, ?, ?, ?)", [*ids, data, now])

        await self._write(replace)

    async def get_blob(self: _Backend, kind: str, key: str) -> bytes | None:
        sql = "SELECT data FROM blobs WHERE project_id = ? AND kind = ? AND key = ?"
        params = [self._project, kind, key]
        found = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return bytes(found[0][0]) if found else None

    async def list_blob_keys(self: _Backend, kind: str, prefix: str = "") -> list[str]:
        sql = (
            "SELECT key FROM blobs WHERE project_id = ? AND kind = ? AND starts_with(key, ?) "
            "ORDER BY key"
        )
        params = [self._project, kind, prefix]
        fetched = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return [str(key) for (key,) in fetched]

    async def delete_blobs(self: _Backend, kind: str, prefix: str) -> int:
        sql = (
            "DELETE FROM blobs WHERE project_id = ? AND kind = ? AND starts_with(key, ?) "
            "RETURNING key"
        )
        params = [self._project, kind, prefix]
        deleted = await self._write(lambda cur: cur.execute(sql, params).fetchall())
        return len(deleted)
