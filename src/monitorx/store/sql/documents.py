"""Documents and the delivery log, in SQL (see the "Documents" part of `Storage`):
the alerting engine's configuration and state, and its record of each
notification attempt. Log entries are numbered as they are appended, so they read
back in that order even when they share a timestamp."""

from __future__ import annotations

__all__ = ["DocumentQueries"]

from collections.abc import Sequence
from datetime import datetime

from monitorx.store.leases import Fence
from monitorx.store.queries import DeliveryLogEntry
from monitorx.store.sql.leases import fence_guard
from monitorx.store.sql.session import SQLQueries, Statement, Step, Upsert

_APPEND_LOG = (
    "INSERT INTO delivery_log (project_id, alert_id, attempted_at, body) VALUES (%s, %s, %s, %s)"
)


class DocumentQueries(SQLQueries):
    """Document and delivery log queries, mixed into an SQL store."""

    # Documents ---------------------------------------------------------------------

    async def put_document(self, kind: str, key: str, body: str) -> bool:
        now = self._clock.now()
        return await self._sql.upsert(
            "documents",
            {"project_id": self._project, "kind": kind, "key": key},
            {"body": body, "updated_at": now},
            {"created_at": now},
        )

    async def apply_documents(
        self,
        puts: Sequence[tuple[str, str, str]] = (),
        deletes: Sequence[tuple[str, str]] = (),
        log: Sequence[DeliveryLogEntry] = (),
        fence: Fence | None = None,
    ) -> None:
        now = self._clock.now()
        steps: list[Step] = [] if fence is None else [fence_guard(self._project, fence)]
        steps += [
            Upsert(
                "documents",
                {"project_id": self._project, "kind": kind, "key": key},
                {"body": body, "updated_at": now},
                {"created_at": now},
            )
            for kind, key, body in puts
        ]
        steps += [
            Statement(
                "DELETE FROM documents WHERE project_id = %s AND kind = %s AND key = %s",
                [self._project, kind, key],
            )
            for kind, key in deletes
        ]
        steps += [
            Statement(_APPEND_LOG, [self._project, alert_id, entry.at, entry.body])
            for entry in log
            for alert_id in entry.alert_ids
        ]
        if len(steps) > (fence is not None):
            await self._sql.write_all(steps)

    async def get_document(self, kind: str, key: str) -> str | None:
        found = await self._sql.read(
            "SELECT body FROM documents WHERE project_id = %s AND kind = %s AND key = %s",
            [self._project, kind, key],
        )
        return str(found[0][0]) if found else None

    async def list_documents(self, kind: str) -> list[tuple[str, str]]:
        fetched = await self._sql.read(
            "SELECT key, body FROM documents WHERE project_id = %s AND kind = %s "
            "ORDER BY created_at, key",
            [self._project, kind],
        )
        return [(str(key), str(body)) for key, body in fetched]

    async def delete_document(self, kind: str, key: str) -> bool:
        deleted = await self._sql.write(
            "DELETE FROM documents WHERE project_id = %s AND kind = %s AND key = %s RETURNING key",
            [self._project, kind, key],
        )
        return bool(deleted)

    # Delivery log ------------------------------------------------------------------

    async def append_delivery_log(self, alert_ids: Sequence[str], at: datetime, body: str) -> None:
        if not alert_ids:
            return
        await self._sql.write_many(
            _APPEND_LOG, [[self._project, alert_id, at, body] for alert_id in alert_ids]
        )

    async def list_delivery_log(self, alert_id: str, limit: int = 1000) -> list[str]:
        if limit <= 0:
            return []
        # The newest `limit` entries, then back to the order they were appended.
        fetched = await self._sql.read(
            "SELECT body FROM (SELECT body, seq FROM delivery_log "
            "WHERE project_id = %s AND alert_id = %s ORDER BY seq DESC LIMIT %s) AS newest "
            "ORDER BY seq",
            [self._project, alert_id, limit],
        )
        return [str(body) for (body,) in fetched]
