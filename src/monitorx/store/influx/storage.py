"""The InfluxDB backend: series in InfluxDB over its v1 HTTP API, records beside it.

Inference metrics, client drift metrics and rollups are written as line protocol
(influx_layout, influx_lines) and read with InfluxQL (influx_queries) through one
shared HTTP client (influx_client). The v1 API is what InfluxDB 1.x serves and what
2.x and 3.x keep for compatibility, so one backend reaches all three.

The model registry, alerts, the lifecycle markers and the alerting engine's
documents and delivery log, and blobs (drift reference sets and records as
Parquet) are not time series: they are few, keyed, and updated in place, which
InfluxDB is not built for. They live in a small embedded DuckDB
file (``side_path``) that this store delegates to, the same code the embedded
backend runs.

Reads (influx_reads) let InfluxDB compute what it can compute the way API.md
defines it, and fetch raw values for numpy where it cannot (exact percentiles).

A write returns once InfluxDB answered 204 to every request of the batch: it has
logged the points to its write-ahead log (fsynced: ``wal-fsync-delay`` is 0 by
default). A batch is sent in bodies of `LINES_PER_BODY` lines (InfluxData's advice
is 5,000–10,000), a few at a time, while the next slice of the batch is encoded. A
batch is not atomic: when one body fails, the bodies already acknowledged stay
written; a retry writes those points again, under other
sub-microsecond digits (influx_layout), so they would count twice.
"""

from __future__ import annotations

__all__ = ["InfluxStorage"]

import asyncio
import copy
import logging
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
import pyarrow as pa

from monitorx.core import (
    Alert,
    Clock,
    DriftMetric,
    MetricColumns,
    ModelConfig,
    StorageError,
    SystemClock,
)
from monitorx.core.audit import AuditEntry
from monitorx.core.events import Event, EventQuery, LogEntry, LogQuery
from monitorx.core.keys import ApiKeyRecord
from monitorx.core.users import RefreshTokenRecord, StoredUser, UserRecord
from monitorx.store.duckdb.storage import DuckDBStorage
from monitorx.store.influx import queries as iql
from monitorx.store.influx.client import InfluxClient
from monitorx.store.influx.layout import (
    DRIFT,
    INFERENCE,
    NanoCounter,
    drift_line,
    metric_lines,
    rollup_lines,
    rollup_measurement,
)
from monitorx.store.influx.lines import bodies
from monitorx.store.influx.reads import SeriesReads
from monitorx.store.influx.samples import InfluxSampleQueries
from monitorx.store.influx.spans import InfluxSideSpans
from monitorx.store.leases import Fence
from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA, ROLLUP_SCHEMA, metric_table
from monitorx.store.queries import AuditQuery, DeliveryLogEntry
from monitorx.store.storage import (
    AlertQuery,
    Resolution,
)

T = TypeVar("T")
logger = logging.getLogger("monitorx.store")

LINES_PER_BODY = 10_000
_MIN_LINES_PER_BODY = 1_000
# Rows encoded at a time: bounds memory, and lets the next slice encode while the
# last one's bodies are in flight.
_ENCODE_ROWS = 50_000
# Requests of one batch in flight at once: InfluxDB parses them in parallel. 2 did
# best on a 2-vCPU machine (3 and 4 were 5-15% slower, influxd and this process
# sharing the cores).
_WRITE_CONCURRENCY = 2
_THREADS = 2
_SERIES_MEASUREMENTS = (
    INFERENCE,
    DRIFT,
    *(rollup_measurement(r) for r in (Resolution.MINUTE, Resolution.HOUR)),
)


def _rollup(resolution: Resolution) -> str:
    return iql.ident(rollup_measurement(resolution))


class InfluxStorage(SeriesReads, InfluxSampleQueries, InfluxSideSpans):
    """`Storage` with its series in InfluxDB and its records in a DuckDB file."""

    def __init__(
        self,
        url: str,
        project_id: str = "default",
        clock: Clock | None = None,
        side_path: Path | str = Path("./data/influx-records.duckdb"),
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._project = project_id
        self._clock = clock or SystemClock()
        self._influx = InfluxClient(url, client)
        self._side = DuckDBStorage(side_path, project_id, clock=self._clock, hot_max_points=0)
        self._side_path = Path(side_path)
        self._counter = NanoCounter()
        self._pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="monitorx-influx")
        # The store this one is a project view of (`for_project`), or None.
        self._owner: InfluxStorage | None = None

    def for_project(self, project_id: str) -> InfluxStorage:
        """The store of ``project_id`` on this one's HTTP client, threads and side
        store (a project view of it: open it after this store, close it before)."""
        owner = self._owner or self
        view = copy.copy(owner)
        view._project = project_id
        view._owner = owner
        view._side = owner._side.for_project(project_id)
        return view

    @property
    def project_id(self) -> str:
        return self._project

    async def stored_projects(self) -> set[str]:
        return await self._side.stored_projects()

    @property
    def description(self) -> str:
        return f"influxdb://{self._influx.base_url.split('://', 1)[1]}/{self._influx.database}"

    async def open(self) -> None:
        """Check InfluxDB answers, create the database, open the side store."""
        if self._owner is not None:
            await self._side.open()
            return
        await self._influx.ping()
        try:
            await self._influx.query(
                f"CREATE DATABASE {iql.ident(self._influx.database)}", database=False
            )
        except StorageError as exc:
            # 2.x and 3.x create databases (buckets) by their own APIs; writes will
            # say so plainly if this one does not exist.
            logger.warning("InfluxDB did not create database %s: %s", self._influx.database, exc)
        self._side_path.parent.mkdir(parents=True, exist_ok=True)
        await self._side.open()

    async def close(self) -> None:
        if self._owner is not None:
            await self._side.close()
            return
        await self._influx.aclose()
        await self._side.close()
        self._pool.shutdown(wait=True)

    async def ping(self) -> None:
        await self._influx.ping()
        await self._side.ping()

    def config_changes(self) -> None:
        """None: the configuration is in the side store's DuckDB file, one process's."""
        return None

    # Inference metrics -------------------------------------------------------------

    async def write_metrics(self, batch: pa.Table | MetricColumns) -> None:
        table = metric_table(batch) if isinstance(batch, MetricColumns) else batch
        table = table.select(METRIC_BATCH_SCHEMA.names).cast(METRIC_BATCH_SCHEMA)
        # A small batch is still cut in `_WRITE_CONCURRENCY` bodies: InfluxDB parses
        # them in parallel, so even one writer keeps its cores busy.
        rows = min(table.num_rows, _ENCODE_ROWS)
        per_body = min(LINES_PER_BODY, max(_MIN_LINES_PER_BODY, -(-rows // _WRITE_CONCURRENCY)))

        async def encoded() -> AsyncIterator[bytes]:
            for first in range(0, table.num_rows, _ENCODE_ROWS):
                part = table.slice(first, _ENCODE_ROWS)
                lines = await self._in_thread(
                    partial(metric_lines, part, self._project, self._counter)
                )
                for body in bodies(lines, per_body):
                    yield body

        await self._write_all(encoded())

    async def _write_all(self, encoded: AsyncIterator[bytes]) -> None:
        """Send every body, `_WRITE_CONCURRENCY` at a time; stop at the first failure
        and raise it (bodies already acknowledged stay written)."""
        in_flight: set[asyncio.Task[None]] = set()
        try:
            async for body in encoded:
                if len(in_flight) >= _WRITE_CONCURRENCY:
                    done, in_flight = await asyncio.wait(
                        in_flight, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        task.result()
                in_flight.add(asyncio.create_task(self._influx.write(body)))
            for task in in_flight:
                await task
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def purge_model_data(self, model_id: str) -> None:
        clause = iql.where(self._project, tags={"model_id": model_id})
        await self._influx.query(
            *(f"DELETE FROM {iql.ident(m)}{clause}" for m in _SERIES_MEASUREMENTS)
        )
        await self._side.purge_model_data(model_id)

    # Drift metrics -----------------------------------------------------------------

    async def write_drift(self, metric: DriftMetric) -> None:
        await self._influx.write(drift_line(metric, self._project, self._counter))

    # Model registry and alerts: the side store -------------------------------------

    async def save_model(self, model: ModelConfig) -> bool:
        return await self._side.save_model(model)

    async def get_model(self, model_id: str) -> ModelConfig | None:
        return await self._side.get_model(model_id)

    async def list_models(self) -> list[ModelConfig]:
        return await self._side.list_models()

    async def delete_model(self, model_id: str) -> bool:
        return await self._side.delete_model(model_id)

    async def save_alert(self, alert: Alert) -> None:
        await self._side.save_alert(alert)

    async def save_alerts(self, alerts: Sequence[Alert]) -> None:
        await self._side.save_alerts(alerts)

    async def get_alert(self, alert_id: str) -> Alert | None:
        return await self._side.get_alert(alert_id)

    async def list_alerts(self, query: AlertQuery) -> list[Alert]:
        return await self._side.list_alerts(query)

    async def active_alerts(self) -> list[Alert]:
        return await self._side.active_alerts()

    async def open_or_update_alerts(self, opened: Sequence[Alert]) -> list[tuple[Alert, bool]]:
        return await self._side.open_or_update_alerts(opened)

    async def resolve_alerts(
        self, alert_ids: Sequence[str], at: datetime, breached_before: datetime | None = None
    ) -> list[Alert]:
        return await self._side.resolve_alerts(alert_ids, at, breached_before)

    async def acknowledge_alert(self, alert_id: str, at: datetime) -> Alert | None:
        return await self._side.acknowledge_alert(alert_id, at)

    async def alerts_updated_since(self, since: datetime) -> list[Alert]:
        return await self._side.alerts_updated_since(since)

    # Leases: the side store's (one process holds the side file) ------------------

    async def acquire_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        return await self._side.acquire_lease(name, holder, ttl_s)

    async def release_lease(self, name: str, holder: str) -> None:
        await self._side.release_lease(name, holder)

    async def lease_holder(self, name: str) -> tuple[str, int] | None:
        return await self._side.lease_holder(name)

    # Data lifecycle ----------------------------------------------------------------

    async def delete_metrics_before(self, cutoff: datetime) -> None:
        clause = iql.where(self._project, end=cutoff)
        await self._influx.query(
            *(f"DELETE FROM {iql.ident(m)}{clause}" for m in (INFERENCE, DRIFT))
        )

    async def write_rollups(self, resolution: Resolution, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        batch = table.select(ROLLUP_SCHEMA.names).cast(ROLLUP_SCHEMA)
        lines = await self._in_thread(lambda: rollup_lines(batch, self._project, resolution))

        async def encoded() -> AsyncIterator[bytes]:
            for body in bodies(lines, LINES_PER_BODY):
                yield body

        await self._write_all(encoded())

    async def delete_rollups(self, resolution: Resolution, start: datetime, end: datetime) -> None:
        clause = iql.where(self._project, start=start, end=end)
        await self._influx.query(f"DELETE FROM {_rollup(resolution)}{clause}")

    async def get_marker(self, name: str) -> str | None:
        return await self._side.get_marker(name)

    async def set_marker(self, name: str, value: str) -> None:
        await self._side.set_marker(name, value)

    # The audit log: the side store -------------------------------------------------

    async def write_audit(self, entries: Sequence[AuditEntry]) -> None:
        await self._side.write_audit(entries)

    async def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        return await self._side.list_audit(query)

    async def delete_audit_before(self, cutoff: datetime) -> None:
        await self._side.delete_audit_before(cutoff)

    # Events and logs: the side store (InfluxDB 1.x has no word search, and keeping
    # them as series would make each log line's id and words tags) ------------------

    async def write_events(self, events: Sequence[Event]) -> None:
        await self._side.write_events(events)

    async def list_events(self, query: EventQuery) -> list[Event]:
        return await self._side.list_events(query)

    async def delete_events_before(self, cutoff: datetime) -> None:
        await self._side.delete_events_before(cutoff)

    async def write_logs(self, logs: Sequence[LogEntry]) -> None:
        await self._side.write_logs(logs)

    async def search_logs(self, query: LogQuery) -> list[LogEntry]:
        return await self._side.search_logs(query)

    async def delete_logs_before(self, cutoff: datetime) -> None:
        await self._side.delete_logs_before(cutoff)

    # API keys: the side store --------------------------------------------------------

    async def save_key(self, record: ApiKeyRecord, key_hash: str) -> None:
        await self._side.save_key(record, key_hash)

    async def all_keys(self) -> list[tuple[ApiKeyRecord, str]]:
        return await self._side.all_keys()

    async def list_keys(self) -> list[ApiKeyRecord]:
        return await self._side.list_keys()

    async def revoke_key(self, key_id: str, when: datetime) -> bool:
        return await self._side.revoke_key(key_id, when)

    # Users and refresh tokens: the side store ------------------------------------------

    async def save_user(self, record: UserRecord, password_hash: str) -> None:
        await self._side.save_user(record, password_hash)

    async def find_user(self, username: str) -> StoredUser | None:
        return await self._side.find_user(username)

    async def get_user(self, user_id: str) -> StoredUser | None:
        return await self._side.get_user(user_id)

    async def list_users(self) -> list[UserRecord]:
        return await self._side.list_users()

    async def delete_user(self, user_id: str, when: datetime) -> bool:
        return await self._side.delete_user(user_id, when)

    async def disable_user(self, user_id: str, when: datetime) -> bool:
        return await self._side.disable_user(user_id, when)

    async def set_user_totp(self, user_id: str, sealed_secret: str | None, enabled: bool) -> None:
        await self._side.set_user_totp(user_id, sealed_secret, enabled)

    async def accept_totp_step(self, user_id: str, step: int) -> bool:
        return await self._side.accept_totp_step(user_id, step)

    async def save_refresh_token(self, record: RefreshTokenRecord, token_hash: str) -> None:
        await self._side.save_refresh_token(record, token_hash)

    async def spend_refresh_token(
        self, token_hash: str, when: datetime
    ) -> tuple[RefreshTokenRecord, bool] | None:
        return await self._side.spend_refresh_token(token_hash, when)

    async def revoke_refresh_family(self, family: str, when: datetime) -> None:
        await self._side.revoke_refresh_family(family, when)

    # Documents and the delivery log: the side store --------------------------------

    async def put_document(self, kind: str, key: str, body: str) -> bool:
        return await self._side.put_document(kind, key, body)

    async def get_document(self, kind: str, key: str) -> str | None:
        return await self._side.get_document(kind, key)

    async def list_documents(self, kind: str) -> list[tuple[str, str]]:
        return await self._side.list_documents(kind)

    async def delete_document(self, kind: str, key: str) -> bool:
        return await self._side.delete_document(kind, key)

    async def apply_documents(
        self,
        puts: Sequence[tuple[str, str, str]] = (),
        deletes: Sequence[tuple[str, str]] = (),
        log: Sequence[DeliveryLogEntry] = (),
        fence: Fence | None = None,
    ) -> None:
        await self._side.apply_documents(puts, deletes, log, fence)

    async def append_delivery_log(self, alert_ids: Sequence[str], at: datetime, body: str) -> None:
        await self._side.append_delivery_log(alert_ids, at, body)

    async def list_delivery_log(self, alert_id: str, limit: int = 1000) -> list[str]:
        return await self._side.list_delivery_log(alert_id, limit)

    # Blobs: the side store ---------------------------------------------------------

    async def put_blob(self, kind: str, key: str, data: bytes) -> None:
        await self._side.put_blob(kind, key, data)

    async def get_blob(self, kind: str, key: str) -> bytes | None:
        return await self._side.get_blob(kind, key)

    async def list_blob_keys(self, kind: str, prefix: str = "") -> list[str]:
        return await self._side.list_blob_keys(kind, prefix)

    async def delete_blobs(self, kind: str, prefix: str) -> int:
        return await self._side.delete_blobs(kind, prefix)
