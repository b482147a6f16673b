"""The PostgreSQL store's documents and delivery log (see the "Documents" part of
`Storage`).

Same behaviour as the DuckDB backend's (`duckdb_documents`), with each write one
atomic statement so that replicas sharing the database cannot interleave a read
and a write. Log entries are numbered by an identity column, so they read back in
the order they were appended even when they share a timestamp.
"""

from __future__ import annotations

__all__ = ["DocumentQueries"]

from collections.abc import Sequence
from datetime import datetime

from monitorx.core import Clock
from monitorx.store.postgres.connection import PostgresPool


class DocumentQueries:
    """Document and delivery log queries, mixed into `PostgresStorage`."""

    _pool: PostgresPool
    _project: str
    _clock: Clock

    # Documents ---------------------------------------------------------------------

    async def put_document(self, kind: str, key: str, body: str) -> bool:
        """``xmax = 0`` holds for a row this statement inserted, not for one it updated."""
        now = self._clock.now()
        ((created,),) = await self._pool.fetch(
            "INSERT INTO documents (project_id, kind, key, body, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (project_id, kind, key) DO UPDATE "
            "SET body = excluded.body, updated_at = excluded.updated_at "
            "RETURNING xmax = 0",
            [self._project, kind, key, body, now, now],
        )
        return bool(created)

    async def get_document(self, kind: str, key: str) -> str | None:
        found = await self._pool.fetch(
            "SELECT body FROM documents WHERE project_id = %s AND kind = %s AND key = %s",
            [self._project, kind, key],
        )
        return str(found[0][0]) if found else None

    async def list_documents(self, kind: str) -> list[tuple[str, str]]:
        fetched = await self._pool.fetch(
            "SELECT key, body FROM documents WHERE project_id = %s AND kind = %s "
            "ORDER BY created_at, key",
            [self._project, kind],
        )
        return [(str(key), str(body)) for key, body in fetched]

    async def delete_document(self, kind: str, key: str) -> bool:
        deleted = await self._pool.execute(
            "DELETE FROM documents WHERE project_id = %s AND kind = %s AND key = %s",
            [self._project, kind, key],
        )
        return deleted > 0

    # Delivery log ------------------------------------------------------------------

    async def append_delivery_log(self, alert_ids: Sequence[str], at: datetime, body: str) -> None:
        if not alert_ids:
            return
        # One statement for all the entries; the identity numbers them in array order.
        await self._pool.execute(
            "INSERT INTO delivery_log (project_id, alert_id, attempted_at, body) "
            "SELECT %s, alert_id, %s, %s FROM unnest(%s::text[]) WITH ORDINALITY "
            "AS entry (alert_id, position) ORDER BY position",
            [self._project, at, body, list(alert_ids)],
        )

    async def list_delivery_log(self, alert_id: str, limit: int = 1000) -> list[str]:
        if limit <= 0:
            return []
        # The newest `limit` entries, then back to the order they were appended.
        fetched = await self._pool.fetch(
            "SELECT body FROM (SELECT body, seq FROM delivery_log "
            "WHERE project_id = %s AND alert_id = %s ORDER BY seq DESC LIMIT %s) AS newest "
            "ORDER BY seq",
            [self._project, alert_id, limit],
        )
        return [str(body) for (body,) in fetched]
