"""The embedded default backend: DuckDB in one file under the data directory.

Metrics are appended by one writer thread with group commit (``duckdb_writer``);
reads run on a small thread pool, each thread with its own cursor, so that no
DuckDB call ever runs on the event loop.
"""

from __future__ import annotations

__all__ = ["DuckDBStorage"]

import asyncio
import copy
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from monitorx.core import (
    Alert,
    Clock,
    InferenceMetric,
    MetricColumns,
    MetricName,
    StorageError,
    SystemClock,
)
from monitorx.core.timeparse import from_epoch_us, to_epoch_us
from monitorx.store.duckdb.blob_files import BlobFiles, blob_directory
from monitorx.store.duckdb.lifecycle import LifecycleQueries
from monitorx.store.duckdb.logs import DuckDBLogSearch
from monitorx.store.duckdb.samples import SAMPLE_GROUP_COMMIT_BATCHES, DuckDBSampleQueries
from monitorx.store.duckdb.schema import migrate
from monitorx.store.duckdb.session import DuckDBSession, run_steps
from monitorx.store.duckdb.spans import DuckDBSpanQueries
from monitorx.store.duckdb.writer import (
    DEFAULT_FLUSH_INTERVAL_S,
    DEFAULT_FLUSH_ROWS,
    MetricWriter,
)
from monitorx.store.group_commit import GroupCommit
from monitorx.store.hot_tier import HotTier
from monitorx.store.metric_batch import ERROR_CONTRIBUTION_SQL, metric_sql
from monitorx.store.metric_log import MetricLog
from monitorx.store.sql import rows
from monitorx.store.sql.audit import AuditQueries
from monitorx.store.sql.blobs import BlobQueries
from monitorx.store.sql.breach_counts import BreachCountQueries
from monitorx.store.sql.documents import DocumentQueries
from monitorx.store.sql.events import EventQueries, LogQueries
from monitorx.store.sql.keys import KeyQueries
from monitorx.store.sql.leases import LeaseQueries
from monitorx.store.sql.markers import MarkerQueries
from monitorx.store.sql.registry import RegistryQueries
from monitorx.store.sql.series import SeriesQueries
from monitorx.store.sql.users import UserQueries
from monitorx.store.storage import (
    BLOB_MODEL_SEPARATOR,
    Aggregation,
    Bucket,
    ErrorWindow,
    MetricQuery,
    ModelWindowStats,
)

T = TypeVar("T")
logger = logging.getLogger("monitorx.store")

_READ_THREADS = 4
# What the hot tier needs of a row, in the order `HotTier.append` reads by name.
HOT_SELECT = (
    "model_id, ts, latency, throughput, error_rate, error, gpu_memory_mb, gpu_utilization, "
    "cpu_percent, memory_mb, prompt_tokens, completion_tokens, time_to_first_token_ms, cost_usd"
)


def _naive(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None)


class DuckDBStorage(
    SeriesQueries,
    RegistryQueries,
    LifecycleQueries,
    MarkerQueries,
    DocumentQueries,
    BlobQueries,
    DuckDBSampleQueries,
    AuditQueries,
    KeyQueries,
    UserQueries,
    LeaseQueries,
    DuckDBSpanQueries,
    EventQueries,
    LogQueries,
    DuckDBLogSearch,
    BreachCountQueries,
):
    """`Storage` on an embedded DuckDB file (or ``:memory:``)."""

    _ROLLUP_TABLES = ("rollups_1m", "rollups_1h")

    def __init__(
        self,
        path: Path | str,
        project_id: str = "default",
        hot_retention_s: float = 24 * 3600,
        hot_max_points: int = 5_000_000,
        clock: Clock | None = None,
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
    ) -> None:
        self._flush_rows = flush_rows
        self._flush_interval_s = flush_interval_s
        self._path = str(path)
        self._project = project_id
        self._clock = clock or SystemClock()
        self._hot_retention_us = round(hot_retention_s * 1_000_000)
        self._hot_max_points = hot_max_points
        self._hot: HotTier | None = None
        self._con: Any = None
        self._writer: MetricWriter | None = None
        self._pool = ThreadPoolExecutor(_READ_THREADS, thread_name_prefix="monitorx-read")
        self._local = threading.local()
        self._small_writes = asyncio.Lock()
        self._sql = self._duckdb = DuckDBSession(self._run, self._write)
        self._sample_writes = GroupCommit(self._commit_samples, SAMPLE_GROUP_COMMIT_BATCHES)
        # The store this one is a project view of (`for_project`); None for the store
        # that owns the connection.
        self._owner: DuckDBStorage | None = None

    def for_project(self, project_id: str) -> DuckDBStorage:
        """The store of ``project_id`` over this one's database: DuckDB opens a file
        once per process, so the view shares the connection, the read threads and
        the write lock, and has its own metric writer (without a log: see
        `_start_metric_writes`), hot tier and sample writes. Open it after this
        store, close it before."""
        owner = self._owner or self
        view = copy.copy(owner)
        view._project = project_id
        view._owner = owner
        view._hot = None
        view._writer = None
        view._sample_writes = GroupCommit(view._commit_samples, SAMPLE_GROUP_COMMIT_BATCHES)
        return view

    @property
    def project_id(self) -> str:
        return self._project

    @property
    def description(self) -> str:
        return f"duckdb:///{self._path}"

    async def open(self) -> None:
        if self._owner is not None:
            self._con = self._owner._con
            if self._con is None:
                raise StorageError("open the store before its project views")
            await self._in_thread(self._start_metric_writes)
            return
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self._path)
            self._con.execute("SET TimeZone = 'UTC'")
            migrate(self._con)
            if self._blobs_in_files():
                self._move_blobs_to_files()
        except duckdb.Error as exc:
            raise StorageError(f"cannot open DuckDB at {self._path}: {exc}") from exc
        self._start_metric_writes()

    def _start_metric_writes(self) -> None:
        """The writer of this project's metrics, its log replayed; the hot tier."""
        try:
            # A view's metrics are committed to DuckDB before they are acknowledged,
            # as an in-memory store's are: the log's segment numbers are one
            # sequence per file (metric_log_flushed), which one writer owns.
            logged = self._path != ":memory:" and self._owner is None
            log = MetricLog(Path(self._path + ".metric-log")) if logged else None
            self._writer = MetricWriter(
                self._con,
                self._project,
                log,
                self._on_commit,
                self._flush_rows,
                self._flush_interval_s,
            )
            recovered = self._writer.recover()
            if recovered:
                logger.info("replayed %d logged metrics into DuckDB", recovered)
            self._hot = self._load_hot_tier() if self._hot_max_points > 0 else None
        except duckdb.Error as exc:
            raise StorageError(f"cannot open DuckDB at {self._path}: {exc}") from exc
        self._writer.start()

    def _on_commit(self, table: pa.Table) -> None:
        if self._hot is not None:
            self._hot.append(table, self._now_us())

    async def _settled(self) -> None:
        """Before SQL reads metrics: every acknowledged metric is in DuckDB. A flush
        already under way counts too: `MetricWriter.flush` waits for it to commit."""
        writer = self._writer
        if writer is not None and writer.pending_rows:
            await self._in_thread(writer.flush)

    def _now_us(self) -> int:
        return to_epoch_us(self._clock.now())

    def _load_hot_tier(self) -> HotTier:
        """Fill the hot tier from the database: the retention window, newest first,
        within the point budget."""
        since = self._now_us() - self._hot_retention_us
        # A cursor of its own: a view loads its tier while others use the connection.
        table = (
            self._con.cursor()
            .sql(
                f"SELECT {HOT_SELECT} FROM inference_metrics WHERE project_id = $1 "
                "AND ts >= make_timestamp($2) ORDER BY ts DESC LIMIT $3",
                params=[self._project, since, self._hot_max_points],
            )
            .to_arrow_table()
        )
        covered_from = since
        if table.num_rows == self._hot_max_points:
            oldest = table.column("ts").cast(pa.int64()).to_numpy()[-1]
            covered_from = int(oldest) + 1
        hot = HotTier(self._hot_retention_us, self._hot_max_points, covered_from)
        hot.append(table, self._now_us())
        return hot

    def _hot_for(self, start: datetime) -> HotTier | None:
        """The hot tier, when it holds every point from ``start`` on."""
        hot = self._hot
        return hot if hot is not None and hot.covers(to_epoch_us(start)) else None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
        if self._owner is not None:
            self._con = None
            return
        self._pool.shutdown(wait=True)
        if self._con is not None:
            self._con.close()
            self._con = None

    async def _run(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(cursor)`` on a read thread, translating driver errors."""
        if self._con is None:
            raise StorageError("storage is not open")

        def call() -> T:
            cursor = getattr(self._local, "cursor", None)
            if cursor is None:
                cursor = self._local.cursor = self._con.cursor()
            try:
                return fn(cursor)
            except duckdb.Error as exc:
                raise StorageError(f"DuckDB query failed: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        """Blocking work (numpy over the hot tier) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def _write(self, fn: Callable[[Any], T]) -> T:
        """Small transactional writes (registry, alerts), one at a time."""

        def tx(cur: Any) -> T:
            cur.execute("BEGIN TRANSACTION")
            try:
                result = fn(cur)
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
            return result

        async with self._small_writes:
            return await self._run(tx)

    # Blobs: files beside the database (store.duckdb.blob_files) ----------------------

    def _blob_files_of(self) -> BlobFiles:
        return BlobFiles(blob_directory(self._path))

    def _blobs_in_files(self) -> bool:
        return self._path != ":memory:"

    async def put_blob(self, kind: str, key: str, data: bytes) -> None:
        if not self._blobs_in_files():
            await super().put_blob(kind, key, data)
            return
        files = self._blob_files_of()
        name = await self._in_thread(lambda: files.write(data))
        row = [self._project, kind, key]

        def replace(cur: Any) -> list[Any]:
            before = cur.execute(
                "SELECT file FROM blobs WHERE project_id = ? AND kind = ? AND key = ?", row
            ).fetchall()
            cur.execute(
                "INSERT INTO blobs (project_id, kind, key, data, updated_at, file) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, kind, key) DO UPDATE SET "
                "data = excluded.data, updated_at = excluded.updated_at, file = excluded.file",
                [*row, b"", rows.naive_utc(self._clock.now()), name],
            )
            return [f for (f,) in before]

        try:
            replaced = await self._write(replace)
        except BaseException:
            files.remove([name])
            raise
        await self._in_thread(lambda: files.remove(replaced))

    async def get_blob(self, kind: str, key: str) -> bytes | None:
        if not self._blobs_in_files():
            return await super().get_blob(kind, key)
        files = self._blob_files_of()
        row = [self._project, kind, key]
        for _ in range(3):
            found = await self._sql.read(
                "SELECT file FROM blobs WHERE project_id = %s AND kind = %s AND key = %s", row
            )
            if not found:
                return None
            name: str | None = found[0][0]
            if name is None:  # a row from before blobs were files, moved at the next open
                return await super().get_blob(kind, key)
            try:
                return await self._in_thread(functools.partial(files.read, name))
            except FileNotFoundError:
                continue  # replaced since the row was read: read the row again
        raise StorageError(f"blob {kind}/{key} keeps changing while it is read")

    async def delete_blobs(self, kind: str, prefix: str) -> int:
        if not self._blobs_in_files():
            return await super().delete_blobs(kind, prefix)
        deleted = await self._sql.write(
            "DELETE FROM blobs WHERE project_id = %s AND kind = %s AND starts_with(key, %s) "
            "RETURNING file",
            [self._project, kind, prefix],
        )
        await self._in_thread(lambda: self._blob_files_of().remove(f for (f,) in deleted))
        return len(deleted)

    async def _blob_file_names(self, where: str, params: list[object]) -> list[str]:
        if not self._blobs_in_files():
            return []
        found = await self._sql.read(
            f"SELECT file FROM blobs WHERE project_id = %s AND file IS NOT NULL AND {where}",
            [self._project, *params],
        )
        return [str(f) for (f,) in found]

    def _move_blobs_to_files(self) -> None:
        """At open: the bytes still in rows (an older layout, a restored backup) out to
        files, then the files no row names (a crash between file and row) removed."""
        files = self._blob_files_of()
        inline = self._con.execute(
            "SELECT project_id, kind, key FROM blobs WHERE file IS NULL"
        ).fetchall()
        for project, kind, key in inline:
            ((data,),) = self._con.execute(
                "SELECT data FROM blobs WHERE project_id = ? AND kind = ? AND key = ?",
                [project, kind, key],
            ).fetchall()
            name = files.write(bytes(data))
            self._con.execute(
                "UPDATE blobs SET file = ?, data = ? WHERE project_id = ? AND kind = ? AND key = ?",
                [name, b"", project, kind, key],
            )
        if inline:
            logger.info("moved %d blobs out of the database into %s", len(inline), files.directory)
            self._con.execute("CHECKPOINT")
        named = {f for (f,) in self._con.execute("SELECT file FROM blobs").fetchall() if f}
        files.sweep(named)

    async def ping(self) -> None:
        await self._run(lambda cur: cur.execute("SELECT 1").fetchall())

    async def _open_or_update(self, opened: Sequence[Alert]) -> list[tuple[Alert, bool]]:
        project = self._project

        def apply(cur: Any) -> list[tuple[Alert, bool]]:
            # One writer: reading the open alerts and writing in one transaction is
            # the atomic step that PostgreSQL's upsert is (store.postgres.open_alerts).
            marks = ", ".join("?" * len(opened))
            found = cur.execute(
                f"SELECT {rows.ALERT_COLUMNS} FROM alerts WHERE project_id = ? "
                f"AND status <> 'resolved' AND identity IN ({marks})",
                [project, *(a.identity for a in opened)],
            ).fetchall()
            current = {a.identity: a for a in map(rows.alert_from_row, found)}
            result = [
                (current[a.identity].absorb(a), False) if a.identity in current else (a, True)
                for a in opened
            ]
            run_steps(cur, [self._alert_upsert(alert) for alert, _ in result])
            return result

        return await self._write(apply)

    def config_changes(self) -> None:
        """None: DuckDB lets one process open the file, so nobody else changes it."""
        return None

    # Inference metrics -------------------------------------------------------------

    async def write_metrics(self, batch: pa.Table | MetricColumns) -> None:
        if self._writer is None:
            raise StorageError("storage is not open")
        await self._writer.write(batch)

    async def query_metrics(self, query: MetricQuery) -> list[InferenceMetric]:
        await self._settled()
        fetched = await self._newest(rows.METRIC_COLUMNS, "inference_metrics", query)
        return [rows.metric_from_row(r) for r in fetched]

    async def aggregate(
        self,
        model_id: str,
        metric: MetricName,
        agg: Aggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
    ) -> list[Bucket]:
        interval_us = max(1, round(interval_s * 1_000_000))
        hot = self._hot_for(start)
        if hot is not None:
            found = await self._in_thread(
                lambda: hot.aggregate(
                    model_id, metric, agg, interval_us, to_epoch_us(start), to_epoch_us(end)
                )
            )
            return [Bucket(from_epoch_us(b), v) for b, v in found]
        await self._settled()
        column = metric_sql(metric)
        quantile = agg.quantile
        if agg is Aggregation.COUNT:
            expr = f"count({column})"
        elif agg is Aggregation.MEAN:
            expr = f"avg({column})"
        elif quantile is not None:
            expr = f"quantile_cont({column}, {quantile})"
        else:
            expr = f"{agg.value}({column})"
        sql = (
            f"SELECT (epoch_us(ts) // {interval_us}) * {interval_us} AS bucket, {expr} "
            "FROM inference_metrics WHERE project_id = ? AND model_id = ? "
            f"AND ts >= ? AND ts < ? AND ({column}) IS NOT NULL "
            "GROUP BY bucket ORDER BY bucket"
        )
        params = [self._project, model_id, _naive(start), _naive(end)]
        fetched = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return [Bucket(from_epoch_us(int(b)), float(v)) for b, v in fetched if v is not None]

    async def window_stats(
        self, start: datetime, end: datetime, model_id: str | None = None
    ) -> list[ModelWindowStats]:
        hot = self._hot_for(start)
        if hot is not None:
            return await self._in_thread(
                lambda: hot.window_stats(to_epoch_us(start), to_epoch_us(end), model_id)
            )
        await self._settled()
        sql = (
            "SELECT model_id, count(*), avg(latency), "
            "quantile_cont(latency, [0.5, 0.95, 0.99]), max(latency), "
            f"avg({ERROR_CONTRIBUTION_SQL}) "
            "FROM inference_metrics WHERE project_id = ? AND ts >= ? AND ts < ? "
        )
        params: list[object] = [self._project, _naive(start), _naive(end)]
        if model_id is not None:
            sql += "AND model_id = ? "
            params.append(model_id)
        sql += "GROUP BY model_id ORDER BY model_id"
        fetched = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return [
            ModelWindowStats(
                model_id=mid,
                count=int(count),
                latency_mean=mean,
                latency_p50=q[0],
                latency_p95=q[1],
                latency_p99=q[2],
                latency_max=mx,
                error_rate=err,
            )
            for mid, count, mean, q, mx, err in fetched
        ]

    async def error_window(
        self,
        model_id: str,
        start: datetime,
        end: datetime,
        latency_over: float | None = None,
    ) -> ErrorWindow:
        hot = self._hot_for(start)
        if hot is not None:
            return await self._in_thread(
                lambda: hot.error_window(
                    model_id, to_epoch_us(start), to_epoch_us(end), latency_over
                )
            )
        await self._settled()
        sql = (
            f"SELECT count(*), avg({ERROR_CONTRIBUTION_SQL}), "
            "count(*) FILTER (WHERE latency > ?) FROM inference_metrics "
            "WHERE project_id = ? AND model_id = ? AND ts >= ? AND ts < ?"
        )
        # NULL compares to nothing: without a threshold no metric counts as slow.
        params = [latency_over, self._project, model_id, _naive(start), _naive(end)]
        ((count, rate, slow),) = await self._run(lambda cur: cur.execute(sql, params).fetchall())
        return ErrorWindow(int(count), None if rate is None else float(rate), int(slow))

    async def has_metrics(self, model_id: str) -> bool:
        await self._settled()
        sql = "SELECT 1 FROM inference_metrics WHERE project_id = ? AND model_id = ? LIMIT 1"
        found = await self._run(lambda cur: cur.execute(sql, [self._project, model_id]).fetchall())
        return bool(found)

    async def purge_model_data(self, model_id: str) -> None:
        await self._settled()
        files = await self._blob_file_names(
            "(key = %s OR starts_with(key, %s))", [model_id, model_id + BLOB_MODEL_SEPARATOR]
        )
        await self._purge_model_rows(model_id)
        await self._in_thread(lambda: self._blob_files_of().remove(files))
        if self._hot is not None:
            self._hot.forget(model_id)
