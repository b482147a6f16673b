"""A bounded on-disk spool: metrics the server could not take, kept across restarts.

    monitorx.init(url=..., spool_dir="/var/lib/my-service/monitorx", spool_max_bytes=64 << 20)

The exporter writes a batch here when delivering it failed with a transient error
(server unreachable, 429, 5xx, breaker open) and at shutdown for whatever it could
not deliver in time; it sends the spool's content, oldest first, once the server
answers again, in this process or in the next one that opens the same directory.

Layout: append-only segment files ``<number>.jsonl`` holding one JSON metric a
line, and beside each a ``<number>.ack`` file holding the byte offset up to which
the segment was delivered. A segment is deleted once fully delivered.

Durability (the fsync policy): each spooled batch is written with one ``write()``
and ``fsync``'d before it counts as spooled; each ack is written to a temporary file,
``fsync``'d and renamed over the old one. Spooling happens only on the failure path,
never on the caller's thread, so this costs nothing while the server is up. A crash
in the middle of a write leaves a torn last line, which is skipped and counted.

Delivery is at least once: a crash after the server took a batch and before its
ack was renamed into place sends that batch again on the next start. A clean exit,
or a restart at any other moment, delivers every spooled metric exactly once.

Bound: the segments together hold at most ``max_bytes``. To make room, the oldest
segments are deleted whole and the metrics they still held counted in ``dropped``
(the newest data is usually the most useful after an outage).

One process per directory: the spool takes an exclusive ``flock`` on
``spool.lock``; a second process opening the same directory gets
:class:`SpoolLocked`. Thread-safe within the process.
"""

from __future__ import annotations

__all__ = ["DEFAULT_SPOOL_MAX_BYTES", "DiskSpool", "SpoolBatch", "SpoolLocked"]

import contextlib
import fcntl
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from monitorx.core.errors import MonitorXError
from monitorx.sdk.payloads import JSONObject

logger = logging.getLogger("monitorx.sdk")

DEFAULT_SPOOL_MAX_BYTES = 64 * 1024 * 1024
# A segment is closed once it holds this share of max_bytes, so that dropping the
# oldest segment to make room frees about this much and no more.
_SEGMENTS_PER_SPOOL = 8
# Segments never go below this size, however small max_bytes is.
_MIN_SEGMENT_BYTES = 4096
_SEGMENT_SUFFIX = ".jsonl"
_ACK_SUFFIX = ".ack"
_LOCK_NAME = "spool.lock"


class SpoolLocked(MonitorXError):
    """Another process holds the spool directory."""


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    """Metrics read from one segment, and the offset to ack once they were delivered."""

    segment: int
    end_offset: int
    metrics: list[JSONObject]


@dataclass(slots=True)
class _Segment:
    number: int
    size: int  # bytes in the file
    acked: int  # bytes delivered from its start
    pending: int  # complete lines after ``acked``


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DiskSpool:
    """Append-only segment files under ``directory``, bounded by ``max_bytes``."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = DEFAULT_SPOOL_MAX_BYTES):
        if max_bytes < _MIN_SEGMENT_BYTES:
            raise ValueError(f"spool_max_bytes must be >= {_MIN_SEGMENT_BYTES}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = max(_MIN_SEGMENT_BYTES, max_bytes // _SEGMENTS_PER_SPOOL)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / _LOCK_NAME, "a+b")  # noqa: SIM115 (held open)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            raise SpoolLocked(
                f"spool directory {self.directory} is used by another process"
            ) from exc
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._dropped = 0
        self._torn = 0
        self._closed = False
        self._load()

    def _path(self, number: int, suffix: str = _SEGMENT_SUFFIX) -> Path:
        return self.directory / f"{number:020d}{suffix}"

    def _load(self) -> None:
        for path in sorted(self.directory.glob(f"*{_SEGMENT_SUFFIX}")):
            try:
                number = int(path.stem)
            except ValueError:
                continue
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):  # a write cut short by a crash
                data = data[: data.rfind(b"\n") + 1]
                os.truncate(path, len(data))
                self._torn += 1
            acked = self._read_ack(number)
            if acked > len(data):
                acked = len(data)
            pending = data.count(b"\n", acked)
            self._segments.append(_Segment(number, len(data), acked, pending))
        if self._segments:
            logger.info(
                "MonitorX spool %s holds %d undelivered metrics", self.directory, self.pending
            )

    def _read_ack(self, number: int) -> int:
        try:
            return int(self._path(number, _ACK_SUFFIX).read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    @property
    def pending(self) -> int:
        """How many metrics wait in the spool (written, not yet acked)."""
        return sum(segment.pending for segment in self._segments)

    @property
    def dropped(self) -> int:
        """How many spooled metrics were deleted to stay within ``max_bytes``."""
        return self._dropped

    @property
    def torn(self) -> int:
        """How many unreadable lines (a write cut short by a crash) were skipped."""
        return self._torn

    @property
    def size_bytes(self) -> int:
        """Bytes the segment files take on disk."""
        return sum(segment.size for segment in self._segments)

    def append(self, metrics: list[JSONObject]) -> int:
        """Write ``metrics`` durably; returns how many were written (others not JSON).

        Makes room first by deleting the oldest segments, counted in ``dropped``.
        """
        lines: list[bytes] = []
        for metric in metrics:
            try:
                text = json.dumps(metric, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError):
                logger.warning("MonitorX cannot spool a metric that is not JSON: %r", metric)
                continue
            lines.append(text.encode() + b"\n")
        if not lines:
            return 0
        with self._lock:
            if self._closed:
                return 0
            while sum(map(len, lines)) > self.max_bytes:  # only the newest fit at all
                lines.pop(0)
                self._dropped += 1
            data = b"".join(lines)
            self._make_room(len(data))
            segment = self._writable_segment(len(data))
            with open(self._path(segment.number), "ab") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            segment.size += len(data)
            segment.pending += len(lines)
            return len(lines)

    def _make_room(self, incoming: int) -> None:
        while self._segments and self.size_bytes + incoming > self.max_bytes:
            oldest = self._segments.pop(0)
            self._dropped += oldest.pending
            self._delete(oldest.number)
            logger.warning(
                "MonitorX spool full (%d bytes): dropped %d of its oldest metrics",
                self.max_bytes,
                oldest.pending,
            )

    def _writable_segment(self, incoming: int) -> _Segment:
        last = self._segments[-1] if self._segments else None
        if last is not None and (last.size == 0 or last.size + incoming <= self.segment_bytes):
            return last
        number = last.number + 1 if last is not None else 1
        segment = _Segment(number, 0, 0, 0)
        self._path(number).touch()
        _fsync_dir(self.directory)
        self._segments.append(segment)
        return segment

    def _delete(self, number: int) -> None:
        for suffix in (_SEGMENT_SUFFIX, _ACK_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                self._path(number, suffix).unlink()

    def read(self, max_items: int) -> SpoolBatch | None:
        """Up to ``max_items`` of the oldest unacked metrics (from one segment), or None."""
        with self._lock:
            for segment in list(self._segments):
                if segment.pending == 0:
                    if segment is not self._segments[-1]:
                        self._segments.remove(segment)
                        self._delete(segment.number)
                    continue
                return self._read_segment(segment, max_items)
            return None

    def _read_segment(self, segment: _Segment, max_items: int) -> SpoolBatch:
        with open(self._path(segment.number), "rb") as file:
            file.seek(segment.acked)
            data = file.read(segment.size - segment.acked)
        metrics: list[JSONObject] = []
        offset = 0
        while len(metrics) < max_items:
            end = data.find(b"\n", offset)
            if end < 0:
                break
            line = data[offset:end]
            offset = end + 1
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                metrics.append(value)
            else:
                self._torn += 1
                logger.warning("MonitorX spool skipped an unreadable line in %d", segment.number)
        return SpoolBatch(segment.number, segment.acked + offset, metrics)

    def ack(self, batch: SpoolBatch) -> None:
        """Record ``batch`` as delivered: it is never read again, here or after a restart."""
        with self._lock:
            segment = next((s for s in self._segments if s.number == batch.segment), None)
            if segment is None or batch.end_offset <= segment.acked:
                return  # dropped to make room meanwhile, or acked already
            with open(self._path(segment.number), "rb") as file:
                file.seek(segment.acked)
                done = file.read(batch.end_offset - segment.acked).count(b"\n")
            segment.acked = batch.end_offset
            segment.pending -= done
            if segment.pending == 0 and segment.acked == segment.size:
                self._segments.remove(segment)
                self._delete(segment.number)
                return
            ack = self._path(segment.number, _ACK_SUFFIX)
            temporary = ack.with_suffix(".ack.tmp")
            with open(temporary, "w") as file:
                file.write(str(segment.acked))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, ack)

    def close(self) -> None:
        """Release the directory for another process; later appends write nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
