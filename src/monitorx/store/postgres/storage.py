"""The scale-out backend: everything in PostgreSQL, shared by stateless replicas.

Several server replicas may use one database, so this backend keeps no state that
another replica could contradict: no hot tier, no write buffer. A write returns once
PostgreSQL has committed it (one COPY per batch, with synchronous_commit as the
server has it, on by default); every read is SQL.

Every row carries ``project_id``: stores of different projects share the tables of
one schema and never see each other's rows.

The parts: `postgres_connection` (pool, schema pinning, error translation),
`postgres_schema` (migrations), `postgres_partitions` (day partitions or
TimescaleDB chunks), `postgres_copy` (Arrow through COPY), and the queries in
`postgres_series`, `postgres_records`, `postgres_lifecycle`,
`postgres_documents` and `postgres_blobs`.
"""

from __future__ import annotations

__all__ = ["PostgresStorage"]

import asyncio
import copy
from collections.abc import Sequence
from datetime import UTC, date

import psycopg
import pyarrow as pa

from monitorx.core import Alert, Clock, MetricColumns, SystemClock
from monitorx.store.group_commit import GroupCommit
from monitorx.store.metric_batch import metric_table
from monitorx.store.postgres.config_listener import PostgresConfigListener
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.postgres.copy import batch_days, copy_metrics_in
from monitorx.store.postgres.lifecycle import LifecycleQueries
from monitorx.store.postgres.logs import PostgresLogSearch
from monitorx.store.postgres.open_alerts import open_or_update_alerts
from monitorx.store.postgres.partitions import (
    DayPartitions,
    HypertableChunks,
    MetricTimeSplit,
)
from monitorx.store.postgres.samples import PostgresSampleQueries
from monitorx.store.postgres.schema import MetricLayout, migrate
from monitorx.store.postgres.series import PostgresSeriesQueries
from monitorx.store.postgres.session import PostgresSession
from monitorx.store.postgres.spans import PostgresSpanQueries
from monitorx.store.sql.audit import AuditQueries
from monitorx.store.sql.blobs import BlobQueries
from monitorx.store.sql.breach_counts import BreachCountQueries
from monitorx.store.sql.documents import DocumentQueries
from monitorx.store.sql.events import EventQueries, LogQueries
from monitorx.store.sql.keys import KeyQueries
from monitorx.store.sql.leases import LeaseQueries
from monitorx.store.sql.markers import MarkerQueries
from monitorx.store.sql.registry import RegistryQueries
from monitorx.store.sql.users import UserQueries

# Metric batches one COPY may gather from concurrent writes (`GroupCommit`).
GROUP_COMMIT_BATCHES = 256
# The message PostgreSQL gives a row whose partition does not exist (SQLSTATE 23514,
# shared with CHECK constraints, of which inference_metrics has none).
_NO_PARTITION = "no partition of relation"


class PostgresStorage(
    PostgresSeriesQueries,
    RegistryQueries,
    LifecycleQueries,
    MarkerQueries,
    DocumentQueries,
    BlobQueries,
    PostgresSampleQueries,
    AuditQueries,
    KeyQueries,
    UserQueries,
    LeaseQueries,
    PostgresSpanQueries,
    EventQueries,
    LogQueries,
    PostgresLogSearch,
    BreachCountQueries,
):
    """`Storage` on PostgreSQL (``postgresql://user@host:5432/db?schema=name``)."""

    _ROLLUP_TABLES = ("rollups",)

    def __init__(
        self,
        url: str,
        project_id: str = "default",
        clock: Clock | None = None,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
    ) -> None:
        self._pool = PostgresPool(url, min_connections, max_connections)
        self._sql = PostgresSession(self._pool)
        self._metric_writes = GroupCommit(self._commit_metrics, GROUP_COMMIT_BATCHES)
        self._project = project_id
        self._clock = clock or SystemClock()
        self._time_split: MetricTimeSplit = DayPartitions(self._pool)
        self.layout: MetricLayout | None = None
        """How inference_metrics is split by time; known once the store is open."""
        # The store this one is a project view of (`for_project`), or None.
        self._owner: PostgresStorage | None = None

    def for_project(self, project_id: str) -> PostgresStorage:
        """The store of ``project_id`` on this one's pool: opening and closing it
        touch nothing shared (open it after this store, close it before)."""
        owner = self._owner or self
        view = copy.copy(owner)
        view._project = project_id
        view._owner = owner
        view._metric_writes = GroupCommit(view._commit_metrics, GROUP_COMMIT_BATCHES)
        return view

    @property
    def project_id(self) -> str:
        return self._project

    @property
    def description(self) -> str:
        return self._pool.target.display

    def _today(self) -> date:
        return self._clock.now().astimezone(UTC).date()

    async def open(self) -> None:
        if self._owner is not None:
            # What the owner learnt when it opened: the layout, and the partitions.
            self.layout, self._time_split = self._owner.layout, self._owner._time_split
            return
        async with self._pool.dedicated() as conn:
            state = await migrate(conn, self._pool.schema)
        self.layout = state.layout
        if state.layout is MetricLayout.HYPERTABLE and state.timescale_schema is not None:
            self._time_split = HypertableChunks(self._pool, state.timescale_schema)
        else:
            self._time_split = DayPartitions(self._pool)
        await self._pool.open()
        try:
            await self._time_split.prepare(self._today())
        except BaseException:
            await self._pool.close()
            raise

    async def close(self) -> None:
        if self._owner is None:
            await self._pool.close()

    async def ping(self) -> None:
        await self._pool.ping()

    def config_changes(self) -> PostgresConfigListener:
        """A new listener for the configuration changes of this store's schema (any
        project's), with its own connection while it is iterated."""
        return PostgresConfigListener(self._pool.target)

    # Inference metrics -------------------------------------------------------------

    async def write_metrics(self, batch: pa.Table | MetricColumns) -> None:
        table = batch if isinstance(batch, pa.Table) else metric_table(batch)
        if table.num_rows == 0:
            return
        # Concurrent writes (a burst of single-metric requests) share one COPY.
        await self._metric_writes.write(table)

    async def _commit_metrics(self, tables: list[pa.Table]) -> None:
        try:
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        except pa.ArrowInvalid:  # schemas that differ: one COPY each
            for one in tables:
                await self._commit_metrics([one])
            return
        days = await asyncio.to_thread(batch_days, table)
        await self._time_split.ensure_days(days, self._today())
        if not await self._copy_metrics(table, missing_partition_ok=True):
            # A partition we believed in is gone: another replica's retention dropped
            # it. Learn again what exists, create what is missing, and try once more.
            await self._time_split.reload()
            await self._time_split.ensure_days(days, self._today())
            await self._copy_metrics(table, missing_partition_ok=False)

    async def _copy_metrics(self, table: pa.Table, missing_partition_ok: bool) -> bool:
        """COPY a batch. False, when ``missing_partition_ok``, if a row's partition
        is missing; every other failure raises `StorageError`."""
        async with self._pool.connection() as conn:
            try:
                await copy_metrics_in(conn, table, self._project)
            except psycopg.errors.CheckViolation as exc:
                if missing_partition_ok and _NO_PARTITION in str(exc):
                    return False
                raise
        return True

    async def _open_or_update(self, opened: Sequence[Alert]) -> list[tuple[Alert, bool]]:
        return await open_or_update_alerts(self._pool, self._project, opened)

    async def purge_model_data(self, model_id: str) -> None:
        await self._purge_model_rows(model_id)
