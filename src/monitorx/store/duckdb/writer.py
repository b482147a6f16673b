"""The embedded store's write path: log first, DuckDB in large transactions.

One thread owns the metric log. Every request that wants metrics stored hands its
batch to that thread and waits; the thread takes everything queued, appends it to
the log, fsyncs once (group commit), and only then wakes the waiters — that is the
acknowledgement. A second thread moves logged batches into DuckDB whenever enough
rows have gathered (``flush_rows``, a DuckDB row group by default) or some time
has passed (``flush_interval_s``); a reader that needs the database to hold
everything asks for a flush first (`MetricWriter.flush`).

Without a log directory (an in-memory database) every group is inserted into
DuckDB before it is acknowledged.
"""

from __future__ import annotations

__all__ = ["MetricWriter"]

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from monitorx.core import MetricColumns, StorageError
from monitorx.store.metric_batch import metric_table
from monitorx.store.metric_log import MetricLog

logger = logging.getLogger("monitorx.store")

# How many queued batches one group commit may take.
_MAX_BATCHES_PER_COMMIT = 64
# DuckDB writes an insert of at least a row group straight to its data blocks.
DEFAULT_FLUSH_ROWS = 122_880
DEFAULT_FLUSH_INTERVAL_S = 2.0


@dataclass(slots=True)
class _Pending:
    batch: pa.Table | MetricColumns
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


_STOP = object()


class MetricWriter:
    """Appends inference metrics: to the log (acknowledged), then to DuckDB."""

    def __init__(
        self,
        con: Any,
        project_id: str,
        log: MetricLog | None,
        on_commit: Callable[[pa.Table], None] | None = None,
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
    ) -> None:
        self._con = con.cursor()
        self._project_id = project_id
        self._log = log
        self._on_commit = on_commit
        self._flush_rows = flush_rows
        self._flush_interval_s = flush_interval_s
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._appender = threading.Thread(target=self._append_loop, name="monitorx-log")
        self._flusher = threading.Thread(target=self._flush_loop, name="monitorx-flush")
        self._state = threading.Lock()  # pending tables and log rotation
        self._flushing = threading.Lock()  # one DuckDB flush at a time
        self._wake_flusher = threading.Event()
        self._stopping = threading.Event()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._moving_rows = 0  # taken by a flush that has not committed yet
        self._closed_segments: list[int] = []
        self._last_flush = time.monotonic()

    @property
    def pending_rows(self) -> int:
        """Rows acknowledged but not yet committed in DuckDB (waiting, or being moved)."""
        return self._pending_rows + self._moving_rows

    def recover(self) -> int:
        """Move every segment left by an earlier run into DuckDB; return the rows moved."""
        if self._log is None:
            return 0
        flushed = {
            int(row[0])
            for row in self._con.execute("SELECT segment FROM metric_log_flushed").fetchall()
        }
        moved = 0
        for seq in self._log.segments():
            if seq not in flushed:
                table = self._log.read(seq)
                self._insert([table], [seq])
                moved += table.num_rows
            self._log.remove(seq)
        self._log.open_next(after=max(flushed, default=0))
        return moved

    def start(self) -> None:
        self._appender.start()
        if self._log is not None:
            self._flusher.start()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._appender.join(timeout=30)
        self._stopping.set()
        self._wake_flusher.set()
        if self._flusher.is_alive():
            self._flusher.join(timeout=60)
        self.flush()
        if self._log is not None:
            self._log.close()

    async def write(self, batch: pa.Table | MetricColumns) -> None:
        """Return once ``batch`` is durable. Columns (small writes such as single
        metrics) become Arrow here, once per group commit, not once per request."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(batch, loop, future))
        await future

    def flush(self) -> None:
        """Move everything acknowledged so far into DuckDB (blocking)."""
        with self._flushing:
            with self._state:
                tables, self._pending = self._pending, []
                rows, self._pending_rows = self._pending_rows, 0
                self._moving_rows = rows
                segments, self._closed_segments = self._closed_segments, []
                if self._log is not None and self._log.rows > 0:
                    segments.append(self._log.rotate())
            self._last_flush = time.monotonic()
            if not tables and not segments:
                return
            try:
                self._insert(tables, segments)
            except Exception:
                # Keep them for the next try; the log still holds them.
                with self._state:
                    self._pending = tables + self._pending
                    self._pending_rows += rows
                    self._closed_segments = segments + self._closed_segments
                raise
            finally:
                self._moving_rows = 0
            if self._log is not None:
                for seq in segments:
                    self._log.remove(seq)

    def _insert(self, tables: list[pa.Table], segments: list[int]) -> None:
        con = self._con
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        con.register("_incoming", table)
        try:
            con.execute("BEGIN TRANSACTION")
            if table.num_rows:
                con.execute(
                    "INSERT INTO inference_metrics SELECT ?, * FROM _incoming", [self._project_id]
                )
            for seq in segments:
                con.execute("INSERT OR IGNORE INTO metric_log_flushed VALUES (?)", [seq])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_incoming")

    # Threads -----------------------------------------------------------------------

    def _append_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            group: list[_Pending] = [first]  # type: ignore[list-item]
            while len(group) < _MAX_BATCHES_PER_COMMIT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                group.append(item)  # type: ignore[arg-type]
            self._commit(group)

    def _commit(self, group: list[_Pending]) -> None:
        error: BaseException | None = None
        try:
            tables = [_one_table([p.batch for p in group])]
            if self._log is None:
                with self._flushing:
                    self._insert(tables, [])
            else:
                with self._state:
                    self._log.append(tables)
                    self._pending.extend(tables)
                    self._pending_rows += sum(t.num_rows for t in tables)
                    full = self._pending_rows >= self._flush_rows
                if full:
                    self._wake_flusher.set()
            if self._on_commit is not None:
                self._on_commit(tables[0])
        except Exception as exc:
            logger.exception("writing %d metric batches failed", len(group))
            error = StorageError(f"writing metrics failed: {exc}")
            error.__cause__ = exc
        for pending in group:
            pending.loop.call_soon_threadsafe(_settle, pending.future, error)

    def _flush_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake_flusher.wait(timeout=self._flush_interval_s)
            self._wake_flusher.clear()
            due = time.monotonic() - self._last_flush >= self._flush_interval_s
            if self._pending_rows >= self._flush_rows or (due and self._pending_rows):
                try:
                    self.flush()
                except Exception:
                    logger.exception("moving logged metrics into DuckDB failed; will retry")


def _one_table(batches: list[pa.Table | MetricColumns]) -> pa.Table:
    """One table per group commit: the log, DuckDB and the hot tier each pay per
    table, which matters when many single-metric requests share a commit."""
    columns = [b for b in batches if isinstance(b, MetricColumns)]
    tables = [b for b in batches if isinstance(b, pa.Table)]
    if columns:
        tables.append(metric_table(MetricColumns.concat(columns)))
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables).combine_chunks()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the waiting request was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
