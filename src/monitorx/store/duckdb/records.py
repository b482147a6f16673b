"""The embedded store's non-series records: the model registry and alerts."""

from __future__ import annotations

__all__ = ["RecordQueries"]

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from monitorx.core import Alert, Clock, ModelConfig
from monitorx.store import stored_rows as rows
from monitorx.store.storage import AlertQuery

T = TypeVar("T")


class _Backend(Protocol):
    """What the queries need of the store they are mixed into."""

    _project: str
    _clock: Clock

    async def _run(self: _Backend, fn: Callable[[Any], T]) -> T: ...

    async def _write(self: _Backend, fn: Callable[[Any], T]) -> T: ...


class RecordQueries:
    """Registry and alert queries, mixed into `DuckDBStorage` (which provides the
    connection, the read pool and the transaction helper)."""

    # Model registry ----------------------------------------------------------------

    async def save_model(self: _Backend, model: ModelConfig) -> bool:
        now = rows.naive_utc(self._clock.now())
        config = rows.model_to_json(model)

        def upsert(cur: Any) -> bool:
            existing = cur.execute(
                "SELECT 1 FROM models WHERE project_id = ? AND model_id = ?",
                [self._project, model.id],
            ).fetchall()
            if existing:
                cur.execute(
                    "UPDATE models SET config = ?, updated_at = ? "
                    "WHERE project_id = ? AND model_id = ?",
                    [config, now, self._project, model.id],
                )
                return False
            cur.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?, ?)",
                [self._project, model.id, config, now, now],
            )
            return True

        return await self._write(upsert)

    async def get_model(self: _Backend, model_id: str) -> ModelConfig | None:
        sql = "SELECT config FROM models WHERE project_id = ? AND model_id = ?"
        found = await self._run(lambda cur: cur.execute(sql, [self._project, model_id]).fetchall())
        return rows.model_from_json(found[0][0]) if found else None

    async def list_models(self: _Backend) -> list[ModelConfig]:
        sql = "SELECT config FROM models WHERE project_id = ? ORDER BY model_id"
        fetched = await self._run(lambda cur: cur.execute(sql, [self._project]).fetchall())
        return [rows.model_from_json(r[0]) for r in fetched]

    async def delete_model(self: _Backend, model_id: str) -> bool:
        def delete(cur: Any) -> bool:
            found = cur.execute(
                "DELETE FROM models WHERE project_id = ? AND model_id = ? RETURNING model_id",
                [self._project, model_id],
            ).fetchall()
            return bool(found)

        return await self._write(delete)

    # Alerts ------------------------------------------------------------------------

    async def save_alert(self: _Backend, alert: Alert) -> None:
        values = [self._project, *rows.alert_to_row(alert)]
        marks = ", ".join("?" * len(values))
        await self._write(
            lambda cur: cur.execute(f"INSERT OR REPLACE INTO alerts VALUES ({marks})", values)
        )

    async def get_alert(self: _Backend, alert_id: str) -> Alert | None:
        sql = f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = ? AND id = ?"
        found = await self._run(lambda cur: cur.execute(sql, [self._project, alert_id]).fetchall())
        return rows.alert_from_row(found[0]) if found else None

    async def list_alerts(self: _Backend, query: AlertQuery) -> list[Alert]:
        sql = f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = ? "
        params: list[object] = [self._project]
        for column, value in (
            ("model_id", query.model_id),
            ("status", query.status),
            ("severity", query.severity),
            ("alert_type", query.alert_type),
        ):
            if value is not None:
                sql += f"AND {column} = ? "
                params.append(str(value))
        sql += "ORDER BY started_at DESC, id LIMIT ?"
        params.append(query.limit)
        fetched = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return [rows.alert_from_row(r) for r in fetched]

    async def active_alerts(self: _Backend) -> list[Alert]:
        sql = (
            f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = ? "
            "AND status <> 'resolved' ORDER BY started_at"
        )
        fetched = await self._run(lambda cur: cur.execute(sql, [self._project]).fetchall())
        return [rows.alert_from_row(r) for r in fetched]
