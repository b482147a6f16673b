"""Markers: small named values the lifecycle jobs keep (watermarks), per project."""

from __future__ import annotations

__all__ = ["MarkerQueries"]

from monitorx.store.sql.session import SQLQueries


class MarkerQueries(SQLQueries):
    """`Storage.get_marker` and `set_marker`, mixed into an SQL store."""

    async def get_marker(self, name: str) -> str | None:
        found = await self._sql.read(
            "SELECT value FROM markers WHERE project_id = %s AND name = %s",
            [self._project, name],
        )
        return str(found[0][0]) if found else None

    async def set_marker(self, name: str, value: str) -> None:
        await self._sql.upsert(
            "markers",
            {"project_id": self._project, "name": name},
            {"value": value, "updated_at": self._clock.now()},
        )
