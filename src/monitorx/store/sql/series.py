"""Reads and writes of the time series in SQL that DuckDB and PostgreSQL share:
drift metrics, newest-first pages of a series, and what a model purge deletes."""

from __future__ import annotations

__all__ = ["SeriesQueries"]

from collections.abc import Sequence
from typing import Any

from monitorx.core import DriftMetric
from monitorx.store.queries import BLOB_MODEL_SEPARATOR, MetricQuery
from monitorx.store.sql import rows
from monitorx.store.sql.blobs import PURGE_MODEL_BLOBS
from monitorx.store.sql.events import LogSearch
from monitorx.store.sql.session import SQLQueries, Statement, equal_filters


class SeriesQueries(SQLQueries):
    """Series queries, mixed into an SQL store. ``_ROLLUP_TABLES`` names the
    backend's rollup tables (a model purge empties them too)."""

    _ROLLUP_TABLES: Sequence[str]

    async def _newest(self, columns: str, table: str, query: MetricQuery) -> list[Any]:
        """Rows of a time-series table in ``[start, end)``, newest first."""
        extra, params = equal_filters({"model_id": query.model_id})
        return await self._sql.read(
            f"SELECT {columns} FROM {table} WHERE project_id = %s{extra} "
            "AND ts >= %s AND ts < %s ORDER BY ts DESC LIMIT %s",
            [self._project, *params, query.start, query.end, query.limit],
        )

    async def write_drift(self, metric: DriftMetric) -> None:
        await self._sql.write(
            "INSERT INTO drift_metrics (project_id, model_id, drift_type, feature, score, "
            "confidence, severity, ts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [self._project, *rows.drift_to_row(metric)],
        )

    async def query_drift(self, query: MetricQuery) -> list[DriftMetric]:
        fetched = await self._newest(rows.DRIFT_COLUMNS, "drift_metrics", query)
        return [rows.drift_from_row(r) for r in fetched]

    async def _purge_model_rows(self, model_id: str) -> None:
        """Every row of a model but its registry entry, in one transaction: metrics,
        drift, rollups, its alerts and their delivery log, its blobs, its events and
        logs."""
        project, model = self._project, model_id
        tables = ("inference_metrics", "drift_metrics", "alerts", *self._ROLLUP_TABLES)
        await self._sql.write_all(
            [
                # The log is kept per alert: it goes with the model's alerts, before them.
                Statement(
                    "DELETE FROM delivery_log WHERE project_id = %s AND alert_id IN "
                    "(SELECT id FROM alerts WHERE project_id = %s AND model_id = %s)",
                    [project, project, model],
                ),
                *(
                    Statement(
                        f"DELETE FROM {table} WHERE project_id = %s AND model_id = %s",
                        [project, model],
                    )
                    for table in tables
                ),
                Statement(PURGE_MODEL_BLOBS, [project, model, model + BLOB_MODEL_SEPARATOR]),
                # Its events and logs (store.sql.events).
                *(
                    self._purge_model_log_steps(project, model)
                    if isinstance(self, LogSearch)
                    else ()
                ),
            ]
        )
