"""The model registry and the alerts, in SQL: the store's non-series records."""

from __future__ import annotations

__all__ = ["RegistryQueries"]

from collections.abc import Sequence

from monitorx.core import Alert, ModelConfig
from monitorx.store.queries import AlertQuery
from monitorx.store.sql import rows
from monitorx.store.sql.session import SQLQueries, Upsert, equal_filters

_ALERT_NAMES = [name.strip() for name in rows.ALERT_COLUMNS.split(",")]


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
        return Upsert("alerts", {"project_id": self._project, "id": values.pop("id")}, values)

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
