"""The model registry and the alerts, in SQL: the store's non-series records."""

from __future__ import annotations

__all__ = ["RegistryQueries", "identities_to_backfill"]

from collections.abc import Iterator, Sequence
from datetime import datetime

from monitorx.core import Alert, AlertStatus, ModelConfig
from monitorx.store.queries import AlertQuery
from monitorx.store.sql import rows
from monitorx.store.sql.session import SQLQueries, Upsert, equal_filters

_ALERT_NAMES = [name.strip() for name in rows.ALERT_COLUMNS.split(",")]


def identities_to_backfill(
    found: Sequence[Sequence[object]],
) -> Iterator[tuple[str, str, str, bool]]:
    """For unresolved alert rows stored before alerts had an identity column —
    ``(project_id, *ALERT_COLUMNS)``, newest first — ``(project, identity, id,
    merged)``: ``merged`` for every one but the newest of an identity, which the
    migration resolves (one open alert per identity from then on)."""
    seen: set[tuple[str, str]] = set()
    for project, *columns in found:
        alert = rows.alert_from_row(tuple(columns))
        key = (str(project), alert.identity)
        yield key[0], key[1], alert.id, key in seen
        seen.add(key)


class RegistryQueries(SQLQueries):
    """Registry and alert queries, mixed into an SQL store."""

    async def stored_projects(self) -> set[str]:
        found = await self._sql.read(
            "SELECT DISTINCT project_id FROM models UNION SELECT DISTINCT project_id FROM "
            "documents UNION SELECT DISTINCT project_id FROM alerts UNION SELECT DISTINCT "
            "project_id FROM users"
        )
        return {str(row[0]) for row in found}

    # Model registry ----------------------------------------------------------------

    async def save_model(self, model: ModelConfig) -> bool:
        now = self._clock.now()
        return await self._sql.upsert(
            "models",
            {"project_id": self._project, "model_id": model.id},
            {"config": rows.model_to_json(model), "updated_at": now},
            {"created_at": now},
        )

    async def get_model(self, model_id: str) -> ModelConfig | None:
        found = await self._sql.read(
            "SELECT config FROM models WHERE project_id = %s AND model_id = %s",
            [self._project, model_id],
        )
        return rows.model_from_json(found[0][0]) if found else None

    async def list_models(self) -> list[ModelConfig]:
        fetched = await self._sql.read(
            "SELECT config FROM models WHERE project_id = %s ORDER BY model_id", [self._project]
        )
        return [rows.model_from_json(r[0]) for r in fetched]

    async def delete_model(self, model_id: str) -> bool:
        deleted = await self._sql.write(
            "DELETE FROM models WHERE project_id = %s AND model_id = %s RETURNING model_id",
            [self._project, model_id],
        )
        return bool(deleted)

    # Alerts ------------------------------------------------------------------------

    async def save_alert(self, alert: Alert) -> None:
        await self.save_alerts([alert])

    async def save_alerts(self, alerts: Sequence[Alert]) -> None:
        if alerts:
            await self._sql.write_all([self._alert_upsert(a) for a in alerts])

    def _alert_upsert(self, alert: Alert) -> Upsert:
        values = dict(zip(_ALERT_NAMES, rows.alert_to_row(alert), strict=True))
        values["identity"] = alert.identity
        return Upsert("alerts", {"project_id": self._project, "id": values.pop("id")}, values)

    async def open_or_update_alerts(self, opened: Sequence[Alert]) -> list[tuple[Alert, bool]]:
        if not opened:
            return []
        if len({a.identity for a in opened}) != len(opened):
            raise ValueError("open_or_update_alerts takes one alert per identity")
        return await self._open_or_update(opened)

    async def _open_or_update(self, opened: Sequence[Alert]) -> list[tuple[Alert, bool]]:
        """The backend's atomic open-or-update (see `RegistryStore.open_or_update_alerts`)."""
        raise NotImplementedError

    async def resolve_alerts(
        self, alert_ids: Sequence[str], at: datetime, breached_before: datetime | None = None
    ) -> list[Alert]:
        if not alert_ids:
            return []
        marks = ", ".join(["%s"] * len(alert_ids))
        extra, params = "", []
        if breached_before is not None:
            extra, params = " AND last_breach_at <= %s", [rows.naive_utc(breached_before)]
        when = rows.naive_utc(at)
        found = await self._sql.write(
            "UPDATE alerts SET status = %s, resolved_at = %s, updated_at = %s "
            f"WHERE project_id = %s AND id IN ({marks}) AND status <> %s{extra} "
            f"RETURNING {rows.ALERT_COLUMNS}",
            [
                AlertStatus.RESOLVED.value,
                when,
                when,
                self._project,
                *alert_ids,
                AlertStatus.RESOLVED.value,
                *params,
            ],
        )
        return [rows.alert_from_row(r) for r in found]

    async def acknowledge_alert(self, alert_id: str, at: datetime) -> Alert | None:
        when = rows.naive_utc(at)
        found = await self._sql.write(
            "UPDATE alerts SET acknowledged = true, acknowledged_at = %s, updated_at = %s "
            "WHERE project_id = %s AND id = %s AND NOT acknowledged "
            f"RETURNING {rows.ALERT_COLUMNS}",
            [when, when, self._project, alert_id],
        )
        return rows.alert_from_row(found[0]) if found else None

    async def alerts_updated_since(self, since: datetime) -> list[Alert]:
        fetched = await self._sql.read(
            f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = %s "
            "AND updated_at >= %s ORDER BY updated_at, id",
            [self._project, rows.naive_utc(since)],
        )
        return [rows.alert_from_row(r) for r in fetched]

    async def get_alert(self, alert_id: str) -> Alert | None:
        found = await self._sql.read(
            f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = %s AND id = %s",
            [self._project, alert_id],
        )
        return rows.alert_from_row(found[0]) if found else None

    async def list_alerts(self, query: AlertQuery) -> list[Alert]:
        extra, params = equal_filters(
            {
                "model_id": query.model_id,
                "status": query.status,
                "severity": query.severity,
                "alert_type": query.alert_type,
            }
        )
        fetched = await self._sql.read(
            f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = %s{extra} "
            "ORDER BY started_at DESC, id LIMIT %s",
            [self._project, *params, query.limit],
        )
        return [rows.alert_from_row(r) for r in fetched]

    async def active_alerts(self) -> list[Alert]:
        fetched = await self._sql.read(
            f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = %s "
            "AND status <> 'resolved' ORDER BY started_at",
            [self._project],
        )
        return [rows.alert_from_row(r) for r in fetched]
