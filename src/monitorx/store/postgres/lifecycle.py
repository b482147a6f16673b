"""What rollups, retention and the cold tier need of the PostgreSQL store: rollup
rows, retention of raw points, and the markers (watermarks) the jobs keep."""

from __future__ import annotations

__all__ = ["LifecycleQueries"]

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from monitorx.core import Clock, MetricName
from monitorx.store.metric_batch import ROLLUP_SCHEMA
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.postgres.copy import copy_rollups_in
from monitorx.store.postgres.partitions import MetricTimeSplit
from monitorx.store.queries import Resolution
from monitorx.store.sql.session import equal_filters

_ROLLUP_SELECT = ", ".join(ROLLUP_SCHEMA.names)


def _rollup_resolution(resolution: Resolution) -> str:
    if resolution is Resolution.RAW:
        raise ValueError("raw points are not rollups: use a minute or hour resolution")
    return resolution.value


class LifecycleQueries:
    """Rollups, retention and markers, mixed into `PostgresStorage`."""

    _pool: PostgresPool
    _project: str
    _clock: Clock
    _time_split: MetricTimeSplit

    async def delete_metrics_before(self, cutoff: datetime) -> None:
        """Whole days go with their partition (or chunk); the rest, the day that
        straddles the cutoff and days shared with other projects, by DELETE.

        Raises `StorageError` when long-running queries keep the partitions from
        being dropped for ``RETENTION_LOCK_TIMEOUT_MS``: nothing is deleted then,
        and the next run tries again."""
        await self._time_split.drop_before(cutoff, self._project)
        async with self._pool.transaction() as conn:
            for table in ("inference_metrics", "drift_metrics"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE project_id = %s AND ts < %s",
                    [self._project, cutoff],
                )

    async def write_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        name = _rollup_resolution(resolution)
        async with self._pool.connection() as conn:
            await copy_rollups_in(conn, self._project, name, table)

    async def read_rollups(
        self,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        model_id: str | None = None,
        metric: MetricName | None = None,
    ) -> pa.Table:
        extra, params = equal_filters({"model_id": model_id, "metric": metric})
        fetched = await self._pool.fetch(
            f"SELECT {_ROLLUP_SELECT} FROM rollups WHERE project_id = %s AND resolution = %s "
            f"AND bucket >= %s AND bucket < %s{extra} ORDER BY bucket, model_id, metric, tags",
            [self._project, _rollup_resolution(resolution), start, end, *params],
        )
        columns: list[list[Any]] = [list(c) for c in zip(*fetched, strict=True)] or [
            [] for _ in ROLLUP_SCHEMA.names
        ]
        bucket_index = ROLLUP_SCHEMA.get_field_index("bucket")
        columns[bucket_index] = [
            when.astimezone(UTC).replace(tzinfo=None) for when in columns[bucket_index]
        ]
        sketch_index = ROLLUP_SCHEMA.get_field_index("sketch")
        columns[sketch_index] = [
            None if blob is None else bytes(blob) for blob in columns[sketch_index]
        ]
        return pa.Table.from_arrays(
            [
                pa.array(values, field.type)
                for values, field in zip(columns, ROLLUP_SCHEMA, strict=True)
            ],
            schema=ROLLUP_SCHEMA,
        )

    async def delete_rollups(self, resolution: Resolution, start: datetime, end: datetime) -> None:
        await self._pool.execute(
            "DELETE FROM rollups WHERE project_id = %s AND resolution = %s "
            "AND bucket >= %s AND bucket < %s",
            [self._project, _rollup_resolution(resolution), start, end],
        )
