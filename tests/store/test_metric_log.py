"""The metric log: what was acknowledged survives, once, whatever happens after."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from monitorx.core import FakeClock, MetricColumns
from monitorx.store import DuckDBStorage, MetricQuery, metric_table
from monitorx.store.metric_log import MetricLog

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
T0 = int(NOW.timestamp() * 1_000_000)


def _table(start: int, n: int) -> pa.Table:
    ids = [f"r{start + i}" for i in range(n)]
    return metric_table(
        MetricColumns(
            model_id=["m"] * n,
            request_id=ids,
            ts_us=[T0 - (start + i) for i in range(n)],
            latency=[float(i) for i in range(n)],
        )
    )


def _count(path: Path) -> tuple[int, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        ((rows, distinct),) = con.execute(
            "SELECT count(*), count(DISTINCT request_id) FROM inference_metrics"
        ).fetchall()
    finally:
        con.close()
    return int(rows), int(distinct)


def test_a_torn_last_record_is_skipped(tmp_path: Path) -> None:
    log = MetricLog(tmp_path / "log")
    log.open_next()
    log.append([_table(0, 10)])
    log.append([_table(10, 10)])
    seq = log.current
    log.close()
    path = tmp_path / "log" / f"{seq:012d}.arrows"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # a crash in the middle of the last append
    table = MetricLog(tmp_path / "log").read(seq)
    assert table.num_rows == 10
    assert table.column("request_id").to_pylist() == [f"r{i}" for i in range(10)]


_CRASHING_WRITER = """
import asyncio, os, sys
import asyncio
import threading
import time
import sys
from datetime import UTC, datetime, timedelta
from monitorx.core import FakeClock
from monitorx.store import DuckDBStorage
from tests.store.test_metric_log import NOW, _table

async def main() -> None:
    store = DuckDBStorage(sys.argv[1], clock=FakeClock(NOW), flush_interval_s=3600)
    await store.open()
    await store.write_metrics(_table(0, 100))
    await store.write_metrics(_table(100, 100))
    assert store._writer.pending_rows == 200
    os._exit(0)  # a crash: no flush, no close; only the fsynced log holds the rows

asyncio.run(main())
"""


async def test_unflushed_batches_are_replayed_once_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    crash = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CRASHING_WRITER, str(path), cwd=Path(__file__).parents[2]
    )
    assert await crash.wait() == 0
    assert len(list((tmp_path / "db.duckdb.metric-log").glob("*.arrows"))) == 1

    reopened = DuckDBStorage(path, clock=FakeClock(NOW))
    await reopened.open()
    found = await reopened.query_metrics(
        MetricQuery(datetime(2000, 1, 1, tzinfo=UTC), NOW + timedelta(seconds=1), 10_000, "m")
    )
    await reopened.close()
    assert len(found) == 200
    assert _count(path) == (200, 200)
    assert list((tmp_path / "db.duckdb.metric-log").glob("*.arrows")) == []


async def test_flushed_segments_are_not_replayed_again(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    store = DuckDBStorage(path, clock=FakeClock(NOW))
    await store.open()
    await store.write_metrics(_table(0, 50))
    await store.close()  # flushes, records the segment, deletes it
    # Put the flushed segment back, as if the delete had not happened before a crash.
    log = MetricLog(tmp_path / "db.duckdb.metric-log")
    log.open_next(after=0)  # number 1 again: the segment DuckDB recorded
    log.append([_table(0, 50)])
    log.close()

    reopened = DuckDBStorage(path, clock=FakeClock(NOW))
    await reopened.open()
    await reopened.close()
    assert _count(path) == (50, 50)


async def test_reads_see_acknowledged_rows_before_any_flush(tmp_path: Path) -> None:
    store = DuckDBStorage(
        tmp_path / "db.duckdb", clock=FakeClock(NOW), flush_interval_s=3600, hot_max_points=0
    )
    await store.open()
    await store.write_metrics(_table(0, 30))
    assert store._writer is not None and store._writer.pending_rows == 30
    start = datetime(2000, 1, 1, tzinfo=UTC)
    end = NOW + timedelta(seconds=1)
    rows = await store.query_metrics(MetricQuery(start, end, 100, "m"))
    stats = await store.window_stats(start, end)
    await store.close()
    assert len(rows) == 30
    assert stats[0].count == 30
    assert np.isclose(stats[0].latency_mean, 14.5)


async def test_a_read_during_a_background_flush_waits_for_it(tmp_path: Path) -> None:
    """Rows the flusher has taken but not yet committed still count for a read."""
    store = DuckDBStorage(
        tmp_path / "db.duckdb",
        clock=FakeClock(NOW),
        hot_max_points=0,  # every read goes to DuckDB
        flush_rows=500,
        flush_interval_s=3600,
    )
    await store.open()
    writer = store._writer
    assert writer is not None
    real_insert = writer._insert
    taken = threading.Event()

    def slow_insert(tables: list[pa.Table], segments: list[int]) -> None:
        if threading.current_thread().name == "monitorx-flush":
            taken.set()
            time.sleep(0.3)  # a long move into DuckDB
        real_insert(tables, segments)

    writer._insert = slow_insert  # type: ignore[method-assign]
    await store.write_metrics(_table(0, 600))  # past flush_rows: the flusher takes them
    assert await asyncio.to_thread(taken.wait, 5)
    start, end = datetime(2000, 1, 1, tzinfo=UTC), NOW + timedelta(seconds=1)
    stats = await store.window_stats(start, end, "m")
    await store.close()
    assert stats[0].count == 600
