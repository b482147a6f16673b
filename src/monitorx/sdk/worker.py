"""Background delivery: record on the caller's thread, send in batches from a daemon thread.

Recording appends to a bounded deque without a lock (ring.py), nothing more: it
never waits for the network and never raises. A daemon thread takes up to
``batch_size`` metrics every ``flush_interval_s`` (or at once when that many are
waiting), builds their dicts, and hands them to ``deliver``. Delivery failures
are logged and counted; the batch is kept and tried again with backoff (or after
the circuit breaker's recovery time), while new metrics queue behind it and the
oldest are dropped, counted, once the queue is full.
In a forked child the worker starts afresh, empty (fork_reset.py); it connects
anew on its first record.

With a :class:`~monitorx.sdk.spool.DiskSpool`, a batch that fails with a transient
error goes to disk at once instead of being retried in memory, and so does whatever
is left at shutdown; the spool is sent, oldest first, whenever the backoff allows.
A forked child does not use its parent's spool.
"""

from __future__ import annotations

__all__ = ["BatchWorker", "WorkerStats"]

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitorx.core.backoff import Backoff
from monitorx.core.errors import MonitorXError
from monitorx.sdk.errors import CircuitOpenError, is_transient
from monitorx.sdk.fork_reset import reset_after_fork
from monitorx.sdk.payloads import JSONObject
from monitorx.sdk.results import WorkerStats, WriteResult
from monitorx.sdk.ring import RecordRing, metrics_from
from monitorx.sdk.spool import DiskSpool
from monitorx.sdk.spool_sender import ChunkOutcome, SpoolSender

logger = logging.getLogger("monitorx.sdk")

# How many separate runs of lost sequence numbers are remembered for flush() answers.
_MAX_LOST_RANGES = 256
# Bounds on how long a shutdown waits for the thread after its flush.
_JOIN_TIMEOUT_S = 2.0
# A full queue is reported at most this often (it can overflow thousands of times a second).
_DROP_LOG_INTERVAL_S = 60.0


@dataclass(slots=True)
class Batch:
    """Metrics taken together: their sequence numbers run from ``first`` on."""

    first: int
    metrics: list[JSONObject]

    @property
    def last(self) -> int:
        return self.first + len(self.metrics) - 1


class BatchWorker:
    """A bounded queue drained in batches by one daemon thread.

    The queue is :attr:`ring` (ring.py): callers append to it without the lock,
    as long as ``len(ring) < ring.limit``; everything else (starting the thread,
    waking it for a full batch, evicting the oldest when full, records after
    shutdown) goes through :meth:`_overflow`. Sequence numbers, which ``flush()``
    compares, are given when the worker takes metrics from the ring, in the
    ring's order, so callers never count.

    ``deliver`` sends one batch and returns the server's :class:`WriteResult`; it
    raises a transient :class:`MonitorXError` (see ``errors.is_transient``) when the
    batch did not get through (it is retried), any other when it never will (it is
    dropped, counted and logged).
    """

    def __init__(
        self,
        deliver: Callable[[list[JSONObject]], WriteResult],
        *,
        batch_size: int = 1000,
        flush_interval_s: float = 0.2,
        queue_size: int = 10_000,
        retry_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        on_fork: Callable[[], None] | None = None,
        name: str = "monitorx-exporter",
        spool: SpoolSender | None = None,
    ) -> None:
        if batch_size < 1 or queue_size < 1:
            raise ValueError("batch_size and queue_size must be >= 1")
        self._deliver = deliver
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue_size = queue_size
        self.retry_backoff_s = retry_backoff_s
        self.max_backoff_s = max_backoff_s
        self._on_fork = on_fork
        self._name = name
        self._sender = spool
        self._fork_pending = False
        # One object for the life of the worker (a fork clears it): callers may hold it.
        self.ring = RecordRing(self._overflow)
        self._reset()
        reset_after_fork(self)

    def send_spooled(self) -> None:
        """Start the thread now if the spool holds metrics (an earlier process left them)."""
        with self._lock:
            if self._spool is not None and self._spool.pending and self._thread is None:
                self._start()

    def _reset(self) -> None:
        # Everything here is per process: a forked child must not share the parent's
        # lock (it may have been held at the fork), queue (the parent sends it) or thread.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.ring.clear()
        self.ring.limit = 0  # the first record starts the thread
        self._waiting = False
        # Evictions made without the lock (a full ring while the worker sends).
        # next() is atomic; readers' own next() calls are subtracted (_evicted).
        self._evictions = itertools.count()
        self._eviction_reads = 0
        self._evicted_at_flush = 0
        self._full_log_armed = True
        self._next_seq = 1
        self._inflight_first: int | None = None
        self._lost_ranges: list[list[int]] = []
        self._flushed_through = 0
        self._flush_wanted = 0
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._drop_logged_at = -_DROP_LOG_INTERVAL_S
        self._failing = False
        self._spooled = 0
        self._delivered = self._rejected = 0
        self._dropped = self._lost = self._failed_attempts = 0

    def after_fork_in_child(self) -> None:
        """Start afresh in a forked child (fork_reset.py calls it)."""
        # Cheap work only: this runs in every forked child, also one that never
        # records. What costs (a new client) waits for the child's first record.
        self._sender = None  # the parent's files, the parent's lock
        self._reset()
        self._fork_pending = True

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            self.after_fork_in_child()

    @property
    def stats(self) -> WorkerStats:
        """A snapshot of the counters."""
        with self._lock:
            evicted = self._evicted()
            return WorkerStats(
                recorded=self._next_seq - 1 + len(self.ring) + evicted,
                queued=len(self.ring),
                delivered=self._delivered,
                rejected=self._rejected,
                dropped=self._dropped + evicted,
                lost=self._lost,
                failed_attempts=self._failed_attempts,
                spooled=self._spooled,
                spool_pending=self._spool.pending if self._spool is not None else 0,
                spool_dropped=self._spool.dropped if self._spool is not None else 0,
            )

    def record(self, metric: JSONObject) -> bool:
        """Queue one metric; False when it was not queued or displaced an older one.

        The dict is queued as it is, not copied: do not change it afterwards.
        """
        ring = self.ring
        if len(ring) < ring.limit:
            ring.append(metric)
            return True
        return self._overflow(metric)

    def _evicted(self) -> int:
        # Called with the lock held: how many were evicted without it.
        count = next(self._evictions) - self._eviction_reads
        self._eviction_reads += 1
        return count

    def _overflow(self, entry: Any) -> bool:
        """What a record does when ``len(ring) >= ring.limit``: see the class docstring."""
        ring = self.ring
        queue_size = self.queue_size
        # limit == queue_size only while the thread runs, awake, and the worker is open.
        if ring.limit == queue_size and len(ring) >= queue_size:
            # Full while the worker sends: evict the oldest without the lock, so that
            # an overloaded exporter costs its callers little more than a free one.
            try:
                ring.popleft()
            except IndexError:  # the worker took everything meanwhile
                ring.append(entry)
                return True
            next(self._evictions)
            ring.append(entry)
            if self._full_log_armed:  # the worker re-arms it once a minute
                self._full_log_armed = False
                self._log_full()
            return False
        with self._lock:
            if self._closed:
                self._dropped += 1
                return False
            displaced = False
            while len(ring) >= self.queue_size:
                if not self._drop_oldest():
                    break
                displaced = True
            ring.append(entry)
            if self._thread is None:
                self._start()
            elif self._waiting and len(ring) >= min(self.batch_size, self.queue_size):
                self._changed.notify_all()
            ring.limit = self.queue_size  # the worker lowers it again when it waits
        return not displaced

    def _drop_oldest(self) -> bool:
        # Called with the lock held, when the ring is full. The oldest is the next
        # one a batch would take, so it takes the next sequence number.
        try:
            self.ring.popleft()
        except IndexError:
            return False
        seq = self._next_seq
        self._next_seq = seq + 1
        self._dropped += 1
        self._mark_lost(seq, seq)
        self._log_full()
        return True

    def _log_full(self) -> None:
        # At most once a minute: a full ring can overflow millions of times a second.
        now = time.monotonic()
        if now - self._drop_logged_at >= _DROP_LOG_INTERVAL_S:
            self._drop_logged_at = now
            logger.warning(
                "MonitorX queue full (%d metrics): dropping the oldest; is the server reachable?",
                self.queue_size,
            )

    def _start(self) -> None:
        # Called with the lock held.
        if self._fork_pending:
            self._fork_pending = False
            if self._on_fork is not None:
                self._on_fork()
        thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread = thread
        thread.start()

    def _mark_lost(self, first: int, last: int) -> None:
        # Called with the lock held. Sequence numbers lost together are usually adjacent.
        if self._lost_ranges and self._lost_ranges[-1][1] + 1 == first:
            self._lost_ranges[-1][1] = last
        else:
            self._lost_ranges.append([first, last])
            del self._lost_ranges[:-_MAX_LOST_RANGES]

    def _oldest_pending(self) -> float:
        # What is in the ring takes sequence numbers from _next_seq on.
        if self._inflight_first is not None:
            return self._inflight_first
        return self._next_seq if self.ring else float("inf")

    @property
    def _spool(self) -> DiskSpool | None:
        return None if self._sender is None else self._sender.spool

    def _spool_pending(self) -> bool:
        return self._spool is not None and self._spool.pending > 0

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every metric recorded so far was delivered; False on timeout.

        Also False when some metric recorded since the previous flush was lost:
        dropped from a full queue, refused by the server, or given up on at shutdown.
        With a spool, also waits until the spool was sent (what earlier processes left
        there included).
        """
        self._check_fork()
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            target = self._next_seq - 1 + len(self.ring)
            since = self._flushed_through + 1
            self._flush_wanted += 1
            self._changed.notify_all()
            try:
                while self._oldest_pending() <= target or self._spool_pending():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._thread is None:
                        return False
                    self._changed.wait(remaining)
            finally:
                self._flush_wanted -= 1
            self._flushed_through = max(self._flushed_through, target)
            evicted = self._evicted()
            evicted_since, self._evicted_at_flush = evicted - self._evicted_at_flush, evicted
            return not evicted_since and not any(
                first <= target and last >= since for first, last in self._lost_ranges
            )

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Flush (up to ``timeout``), then stop the thread; what is left is counted lost."""
        self._check_fork()
        delivered = self.flush(timeout)
        with self._changed:
            self._closed = True
            self.ring.limit = 0  # records now take the lock, and are counted dropped
            self._stop.set()
            self._changed.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)
        with self._lock:
            first, entries = self._take(len(self.ring))
        left = Batch(first, metrics_from(entries)) if entries else None
        if left is not None and self._spool is not None:
            self._settle(left, WriteResult(), lost=False, spool=True)
            logger.warning("MonitorX shut down with %d metrics spooled to disk", len(left.metrics))
        elif left is not None:
            with self._lock:
                self._mark_lost(left.first, left.last)
                self._lost += len(left.metrics)
            logger.warning("MonitorX shut down with %d metrics undelivered", len(left.metrics))
        if self._spool is not None:
            self._spool.close()
        return delivered and left is None

    def wait(self, seconds: float) -> None:
        """Sleep that a shutdown cuts short; the worker's own client retries with it."""
        self._stop.wait(seconds)

    def _take(self, count: int) -> tuple[int, list[Any]]:
        # Called with the lock held: up to count from the ring's front and the first
        # one's sequence number. Callers may evict from the front meanwhile, so the
        # ring may run short. The dicts are built after the lock is let go.
        entries: list[Any] = []
        pop = self.ring.popleft
        try:
            for _ in range(count):
                entries.append(pop())
        except IndexError:
            pass
        first = self._next_seq
        self._next_seq = first + len(entries)
        return first, entries

    def _next_batch(self) -> Batch | None:
        ring = self.ring
        with self._changed:
            deadline = time.monotonic() + self.flush_interval_s
            while (
                len(ring) < self.batch_size
                and not (self._flush_wanted and ring)
                and not self._stop.is_set()
                and not self._replay_due()
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # Asleep: the record that completes a batch (or fills the ring) must
                # take the lock, to wake us.
                self._waiting = True
                if not self._closed:
                    ring.limit = min(self.batch_size, self.queue_size) - 1
                try:
                    self._changed.wait(remaining)
                finally:
                    self._waiting = False
            if not self._closed:
                ring.limit = self.queue_size
            if not self._full_log_armed and (
                time.monotonic() - self._drop_logged_at >= _DROP_LOG_INTERVAL_S
            ):
                self._full_log_armed = True
            first, entries = self._take(min(self.batch_size, len(ring)))
            if not entries:
                return None
            self._inflight_first = first
        try:
            return Batch(first, metrics_from(entries))
        except Exception:  # a bug: the thread must outlive it, flush() must not wait for these
            logger.exception("MonitorX could not make metrics of %d recordings", len(entries))
            self._settle(Batch(first, entries), WriteResult(), lost=True)
            return None

    def _replay_due(self) -> bool:
        return self._sender is not None and self._sender.due

    def _run(self) -> None:
        while True:
            if self._replay_due() and not self._stop.is_set():
                try:
                    self._replay()
                except Exception:  # the thread must outlive any bug
                    logger.exception("MonitorX exporter failed sending its spool")
                    if self._sender is not None:
                        self._sender.defer_for(self.max_backoff_s)
            batch = self._next_batch()
            if batch is None:
                if self._stop.is_set():
                    return
                continue
            try:
                self._send(batch)
            except Exception:  # the thread must outlive any bug
                logger.exception(
                    "MonitorX exporter failed on a batch of %d metrics", len(batch.metrics)
                )
                self._settle(batch, WriteResult(), lost=True)

    def _replay(self) -> None:
        """Send the spool, oldest first, until it is empty, fails, or new batches wait."""

        def settled(outcome: ChunkOutcome) -> bool:
            with self._changed:
                self._failed_attempts += outcome.failed
                self._lost += outcome.refused
                self._delivered += outcome.result.accepted
                self._rejected += len(outcome.result.rejected)
                self._changed.notify_all()
                return len(self.ring) < self.batch_size

        if self._sender is not None:
            self._sender.send(self._stop.is_set, settled)

    def _send(self, batch: Batch) -> None:
        metrics = batch.metrics
        if self._sender is not None and self._sender.deferring:
            self._settle(batch, WriteResult(), lost=False, spool=True)
            return
        attempt = 0
        while True:
            try:
                result = self._deliver(metrics)
            except MonitorXError as exc:
                if not is_transient(exc):  # refused for good: 401, 403, 413, …
                    logger.error("MonitorX refused a batch of %d metrics: %s", len(metrics), exc)
                    self._settle(batch, WriteResult(), lost=True)
                    return
                with self._lock:
                    self._failed_attempts += 1
                if not self._failing:
                    self._failing = True
                    logger.warning("MonitorX delivery failed, will retry: %s", exc)
                if self._sender is not None:
                    self._sender.failed(exc)
                    self._settle(batch, WriteResult(), lost=False, spool=True)
                    return
                if self._stop.is_set():
                    self._settle(batch, WriteResult(), lost=True)
                    return
                if isinstance(exc, CircuitOpenError):
                    delay = exc.retry_in_s
                else:
                    delay = Backoff(self.retry_backoff_s, self.max_backoff_s).delay_s(attempt)
                self._stop.wait(max(delay, 0.001))
                attempt += 1
                continue
            if self._failing:
                self._failing = False
                logger.warning("MonitorX delivery recovered after %d failed attempts", attempt)
            if self._sender is not None:
                self._sender.succeeded()
            self._settle(batch, result, lost=False)
            return

    def _settle(
        self,
        batch: Batch,
        result: WriteResult,
        lost: bool,
        spool: bool = False,
    ) -> None:
        size = len(batch.metrics)
        if spool and self._spool is not None:  # written before flush() can see it gone
            written = self._spool.append(batch.metrics)
            with self._lock:
                self._spooled += written
                if written < size:
                    self._lost += size - written
                    self._mark_lost(batch.first, batch.last)
        # Logged before flush() can return, so that what a flush reports was logged.
        if result.rejected:
            first = result.rejected[0]
            logger.warning(
                "MonitorX server rejected %d of %d metrics; first: %s",
                len(result.rejected),
                size,
                first.error,
            )
        with self._changed:
            if lost:
                self._lost += size
                self._mark_lost(batch.first, batch.last)
            else:
                self._delivered += result.accepted
                self._rejected += len(result.rejected)
                for item in result.rejected:
                    if 0 <= item.index < size:
                        seq = batch.first + item.index
                        self._mark_lost(seq, seq)
            self._inflight_first = None
            self._changed.notify_all()
