"""The embedded store's documents and delivery log (see the "Documents" part of
`Storage`): the alerting engine's configuration and state, and its record of each
notification attempt."""

from __future__ import annotations

__all__ = ["DocumentQueries"]

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from monitorx.core import Clock
from monitorx.store import stored_rows as rows

T = TypeVar("T")


class _Backend(Protocol):
    """What the queries need of the store they are mixed into."""

    _project: str
    _clock: Clock

    async def _run(self: _Backend, fn: Callable[[Any], T]) -> T: ...

    async def _write(self: _Backend, fn: Callable[[Any], T]) -> T: ...


class DocumentQueries:
    """Mixed into `DuckDBStorage`, which provides the connection and transactions."""

    # Documents ---------------------------------------------------------------------

    async def put_document(self: _Backend, kind: str, key: str, body: str) -> bool:
        now = rows.naive_utc(self._clock.now())
        where = "WHERE project_id = ? AND kind = ? AND key = ?"
        ids = [self._project, kind, key]

        def upsert(cur: Any) -> bool:
            if cur.execute(f"SELECT 1 FROM documents {where}", ids).fetchall():
                cur.execute(
                    f"UPDATE documents SET body = ?, updated_at = ? {where}", [body, now, *ids]
                )
                return False
            cur.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)", [*ids, body, now, now])
            return True

        return await self._write(upsert)

    async def get_document(self: _Backend, kind: str, key: str) -> str | None:
        sql = "SELECT body FROM documents WHERE project_id = ? AND kind = ? AND key = ?"
        params = [self._project, kind, key]
        found = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return str(found[0][0]) if found else None

    async def list_documents(self: _Backend, kind: str) -> list[tuple[str, str]]:
        sql = (
            "SELECT key, body FROM documents WHERE project_id = ? AND kind = ? "
            "ORDER BY created_at, key"
        )
        fetched = await self._run(lambda cur: cur.execute(sql, [self._project, kind]).fetchall())
        return [(str(key), str(body)) for key, body in fetched]

    async def delete_document(self: _Backend, kind: str, key: str) -> bool:
        sql = "DELETE FROM documents WHERE project_id = ? AND kind = ? AND key = ? RETURNING key"
        params = [self._project, kind, key]
        found = await self._write(lambda cur: cur.execute(sql, params).fetchall())
        return bool(found)

    # Delivery log ------------------------------------------------------------------

    async def append_delivery_log(
        self: _Backend, alert_ids: Sequence[str], at: datetime, body: str
    ) -> None:
        if not alert_ids:
            return
        when = rows.naive_utc(at)
        entries = [[self._project, alert_id, when, body] for alert_id in alert_ids]
        sql = (
            "INSERT INTO delivery_log (project_id, alert_id, attempted_at, body) "
            "VALUES (?, ?, ?, ?)"
        )
        await self._write(lambda cur: cur.executemany(sql, entries))

    async def list_delivery_log(self: _Backend, alert_id: str, limit: int = 1000) -> list[str]:
        if limit <= 0:
            return []
        # The newest `limit` entries, then back to the order they were appended.
        sql = (
            "SELECT body FROM (SELECT body, seq FROM delivery_log "
            "WHERE project_id = ? AND alert_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq"
        )
        params = [self._project, alert_id, limit]
        fetched = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return [str(body) for (body,) in fetched]
