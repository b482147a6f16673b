"""API keys in SQL (DuckDB and PostgreSQL alike): looked up by hash across
projects (a key names its project), listed and revoked within one."""

from __future__ import annotations

__all__ = ["KeyQueries"]

from datetime import datetime
from typing import Any

from monitorx.core.access import Role
from monitorx.core.keys import ApiKeyRecord
from monitorx.store.sql import rows
from monitorx.store.sql.session import SQLQueries

_COLUMNS = "id, project_id, role, name, created_at, revoked_at"


def _record(row: tuple[Any, ...]) -> ApiKeyRecord:
    key_id, project, role, name, created, revoked = row
    return ApiKeyRecord(
        key_id,
        project,
        Role(role),
        name,
        rows.utc(created),
        None if revoked is None else rows.utc(revoked),
    )


class KeyQueries(SQLQueries):
    """`Storage.save_key`, `all_keys`, `list_keys` and `revoke_key`."""

    async def save_key(self, record: ApiKeyRecord, key_hash: str) -> None:
        await self._sql.write(
            f"INSERT INTO api_keys ({_COLUMNS}, key_hash) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                record.id,
                record.project,
                record.role.value,
                record.name,
                record.created_at,
                record.revoked_at,
                key_hash,
            ],
        )

    async def all_keys(self) -> list[tuple[ApiKeyRecord, str]]:
        found = await self._sql.read(f"SELECT {_COLUMNS}, key_hash FROM api_keys ORDER BY id")
        return [(_record(row[:-1]), str(row[-1])) for row in found]

    async def list_keys(self) -> list[ApiKeyRecord]:
        found = await self._sql.read(
            f"SELECT {_COLUMNS} FROM api_keys WHERE project_id = %s ORDER BY created_at, id",
            [self._project],
        )
        return [_record(row) for row in found]

    async def revoke_key(self, key_id: str, when: datetime) -> bool:
        changed = await self._sql.write(
            "UPDATE api_keys SET revoked_at = %s WHERE project_id = %s AND id = %s "
            "AND revoked_at IS NULL RETURNING id",
            [when, self._project, key_id],
        )
        return bool(changed)
