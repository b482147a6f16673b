"""Group commit for the embedded store: one writer thread, many waiting requests.

Every request that wants metrics stored hands its batch to the writer and waits.
The writer takes everything queued, appends it as one Arrow table in one
transaction, commits (DuckDB syncs its write-ahead log on commit), and only then
wakes the waiters. Under load many requests share one commit; alone, a request
pays for its own.
"""

from __future__ import annotations

__all__ = ["MetricWriter"]

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from monitorx.core import StorageError

logger = logging.getLogger("monitorx.store")

# How many queued batches one commit may take; bounds the size of a transaction.
_MAX_BATCHES_PER_COMMIT = 64


@dataclass(slots=True)
class _Pending:
    table: pa.Table
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


_STOP = object()


class MetricWriter:
    """The one thread that appends inference metrics to DuckDB."""

    def __init__(
        self, con: Any, project_id: str, on_commit: Callable[[pa.Table], None] | None = None
    ) -> None:
        self._con = con.cursor()
        self._project_id = project_id
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="monitorx-writer", daemon=True)
        self.commits = 0
        self.rows = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    async def write(self, table: pa.Table) -> None:
        """Return once ``table`` (``METRIC_BATCH_SCHEMA``) is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(table, loop, future))
        await future

    def _run(self) -> None:
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
            table = group[0].table if len(group) == 1 else pa.concat_tables(p.table for p in group)
            self._con.register("_incoming", table)
            try:
                self._con.execute("BEGIN TRANSACTION")
                self._con.execute(
                    "INSERT INTO inference_metrics SELECT ?, * FROM _incoming", [self._project_id]
                )
                self._con.execute("COMMIT")
            except Exception:
                self._con.execute("ROLLBACK")
                raise
            finally:
                self._con.unregister("_incoming")
            self.commits += 1
            self.rows += table.num_rows
            if self._on_commit is not None:
                self._on_commit(table)
        except Exception as exc:
            logger.exception("writing %d metric batches failed", len(group))
            error = StorageError(f"writing metrics failed: {exc}")
            error.__cause__ = exc
        for pending in group:
            pending.loop.call_soon_threadsafe(_settle, pending.future, error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the waiting request was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
