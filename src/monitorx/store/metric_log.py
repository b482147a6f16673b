"""The write-ahead log of inference metrics: append-only segments of Arrow IPC.

A batch is acknowledged once its Arrow record batches are in the current segment
and the segment is fsynced. The store later moves whole segments into DuckDB in
large transactions, which DuckDB writes straight to its data blocks (several times
cheaper per row than many small transactions through its own WAL), and records
the segment's number in the same transaction; only then is the file deleted. On
start, segments that DuckDB has not recorded are replayed, so nothing acknowledged
is lost and nothing is stored twice.

Layout: ``<directory>/<segment number, 12 digits>.arrows``, each an Arrow IPC
stream that ``pyarrow.ipc.open_stream`` reads as it is.
"""

from __future__ import annotations

__all__ = ["MetricLog"]

import logging
import os
from pathlib import Path

import pyarrow as pa

from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA, conform_metric_table

logger = logging.getLogger("monitorx.store")
_SUFFIX = ".arrows"


class MetricLog:
    """Segments in one directory; one open for appending. Not thread-safe: the store
    serialises appends and rotations."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._seq = 0
        self._file: pa.OSFile | None = None
        self._fd = -1
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self._rows = 0

    def segments(self) -> list[int]:
        """Segment numbers on disk, oldest first."""
        if not self._dir.exists():
            return []
        return sorted(int(p.stem) for p in self._dir.glob(f"*{_SUFFIX}") if p.stem.isdigit())

    def read(self, seq: int) -> pa.Table:
        """Everything a segment holds; a torn last record (a crash mid-append, never
        acknowledged) is left out."""
        batches: list[pa.RecordBatch] = []
        schema = METRIC_BATCH_SCHEMA
        path = self._path(seq)
        try:
            with pa.OSFile(str(path), "rb") as source:
                reader = pa.ipc.open_stream(source)
                schema = reader.schema  # an older release's segment has fewer columns
                while True:
                    try:
                        batches.append(reader.read_next_batch())
                    except StopIteration:
                        break
        except (pa.ArrowInvalid, OSError) as exc:
            logger.warning("metric log segment %s ends in a torn record (%s)", path.name, exc)
        return conform_metric_table(pa.Table.from_batches(batches, schema=schema))

    def open_next(self, after: int = 0) -> None:
        """Start appending to a new segment numbered after every existing one and
        after ``after`` (the last number ever used, so numbers are never reused)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        existing = self.segments()
        self._seq = max([after, *existing]) + 1
        self._start()

    def _start(self) -> None:
        path = self._path(self._seq)
        self._file = pa.OSFile(str(path), "wb")
        self._fd = os.open(path, os.O_RDONLY)
        self._writer = pa.ipc.new_stream(self._file, METRIC_BATCH_SCHEMA)
        self._rows = 0
        _fsync_dir(self._dir)

    @property
    def current(self) -> int:
        return self._seq

    @property
    def rows(self) -> int:
        """Rows in the current segment."""
        return self._rows

    def append(self, tables: list[pa.Table]) -> None:
        """Write and fsync; when this returns, the tables survive a crash."""
        assert self._writer is not None and self._file is not None
        for table in tables:
            self._writer.write_table(table)
            self._rows += table.num_rows
        self._file.flush()
        os.fsync(self._fd)

    def rotate(self) -> int:
        """Close the current segment and open the next; return the closed one's number."""
        closed = self._seq
        self._close_current()
        self._seq += 1
        self._start()
        return closed

    def remove(self, seq: int) -> None:
        self._path(seq).unlink(missing_ok=True)

    def close(self) -> None:
        """Close the current segment, deleting it if it holds nothing."""
        empty = self._rows == 0
        self._close_current()
        if empty:
            self.remove(self._seq)

    def _close_current(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _path(self, seq: int) -> Path:
        return self._dir / f"{seq:012d}{_SUFFIX}"


def _fsync_dir(directory: Path) -> None:
    """Make a new file's directory entry durable too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
