"""The audit log in SQL (DuckDB and PostgreSQL alike): appended, listed newest
first with filters, and cut by its own retention."""

from __future__ import annotations

__all__ = ["AuditQueries"]

from collections.abc import Sequence
from datetime import datetime

from monitorx.core.audit import AuditEntry, AuditOutcome
from monitorx.store.queries import AuditQuery
from monitorx.store.sql import rows
from monitorx.store.sql.session import SQLQueries, equal_filters

_COLUMNS = "time, actor, project_id, action, target, source_ip, outcome"


class AuditQueries(SQLQueries):
    """`Storage.write_audit`, `list_audit` and `delete_audit_before`."""

    async def write_audit(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        await self._sql.write_many(
            f"INSERT INTO audit_log ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                [e.time, e.actor, e.project, e.action, e.target, e.source_ip, e.outcome.value]
                for e in entries
            ],
        )

    async def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        extra, params = equal_filters({"action": query.action, "actor": query.actor})
        if query.start is not None:
            extra += " AND time >= %s"
            params.append(query.start)
        if query.end is not None:
            extra += " AND time < %s"
            params.append(query.end)
        found = await self._sql.read(
            f"SELECT {_COLUMNS} FROM audit_log WHERE project_id = %s{extra} "
            "ORDER BY time DESC LIMIT %s",
            [self._project, *params, query.limit],
        )
        return [
            AuditEntry(rows.utc(time), actor, project, action, target, ip, AuditOutcome(outcome))
            for time, actor, project, action, target, ip, outcome in found
        ]

    async def delete_audit_before(self, cutoff: datetime) -> None:
        await self._sql.write(
            "DELETE FROM audit_log WHERE project_id = %s AND time < %s", [self._project, cutoff]
        )
