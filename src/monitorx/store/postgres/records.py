"""The PostgreSQL store's non-series records: the model registry and alerts.

Same behaviour as the DuckDB backend's (`duckdb_records`), with each write one
atomic statement (``INSERT … ON CONFLICT``) so that replicas racing on the same
model or alert cannot interleave a read and a write.
"""

from __future__ import annotations

__all__ = ["RecordQueries"]

from monitorx.core import Alert, Clock, ModelConfig
from monitorx.store import stored_rows as rows
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.storage import AlertQuery

_ALERT_NAMES = [name.strip() for name in rows.ALERT_COLUMNS.split(",")]
_ALERT_UPSERT = (
    f"INSERT INTO alerts (project_id, {rows.ALERT_COLUMNS}) "
    f"VALUES ({', '.join(['%s'] * (len(_ALERT_NAMES) + 1))}) "
    "ON CONFLICT (project_id, id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _ALERT_NAMES if name != "id")
)


class RecordQueries:
    """Registry and alert queries, mixed into `PostgresStorage`."""

    _pool: PostgresPool
    _project: str
    _clock: Clock

    # Model registry ----------------------------------------------------------------

    async def save_model(self, model: ModelConfig) -> bool:
        """Insert or replace; True when it was created. ``xmax = 0`` holds for a row
        this statement inserted, not for one it updated."""
        now = self._clock.now()
        ((created,),) = await self._pool.fetch(
            "INSERT INTO models (project_id, model_id, config, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (project_id, model_id) DO UPDATE "
            "SET config = excluded.config, updated_at = excluded.updated_at "
            "RETURNING xmax = 0",
            [self._project, model.id, rows.model_to_json(model), now, now],
        )
        return bool(created)

    async def get_model(self, model_id: str) -> ModelConfig | None:
        found = await self._pool.fetch(
            "SELECT config FROM models WHERE project_id = %s AND model_id = %s",
            [self._project, model_id],
        )
        return rows.model_from_json(found[0][0]) if found else None

    async def list_models(self) -> list[ModelConfig]:
        fetched = await self._pool.fetch(
            "SELECT config FROM models WHERE project_id = %s ORDER BY model_id",
            [self._project],
        )
        return [rows.model_from_json(r[0]) for r in fetched]

    async def delete_model(self, model_id: str) -> bool:
        deleted = await self._pool.execute(
            "DELETE FROM models WHERE project_id = %s AND model_id = %s",
            [self._project, model_id],
        )
        return deleted > 0

    # Alerts ------------------------------------------------------------------------

    async def save_alert(self, alert: Alert) -> None:
        await self._pool.execute(_ALERT_UPSERT, [self._project, *rows.alert_to_row(alert)])

    async def get_alert(self, alert_id: str) -> Alert | None:
        found = await self._pool.fetch(
            f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = %s AND id = %s",
            [self._project, alert_id],
        )
        return rows.alert_from_row(found[0]) if found else None

    async def list_alerts(self, query: AlertQuery) -> list[Alert]:
        text = f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = %s "
        params: list[object] = [self._project]
        for column, value in (
            ("model_id", query.model_id),
            ("status", query.status),
            ("severity", query.severity),
            ("alert_type", query.alert_type),
        ):
            if value is not None:
                text += f"AND {column} = %s "
                params.append(str(value))
        text += "ORDER BY started_at DESC, id LIMIT %s"
        params.append(query.limit)
        fetched = await self._pool.fetch(text, params)
        return [rows.alert_from_row(r) for r in fetched]

    async def active_alerts(self) -> list[Alert]:
        fetched = await self._pool.fetch(
            f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = %s "
            "AND status <> 'resolved' ORDER BY started_at",
            [self._project],
        )
        return [rows.alert_from_row(r) for r in fetched]
