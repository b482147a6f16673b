"""Decoding large batches in worker processes, so that ingestion uses every core.

Parsing and validating a batch is pure Python-level work that holds the GIL; done
on the server's event loop it competes with the HTTP handling and with the store's
writer thread. A worker process decodes the body into an Arrow table and hands it
back as Arrow IPC bytes, which the server maps without copying. Small bodies
(single metrics, small batches) are decoded in-process: shipping them costs more
than decoding them.
"""

from __future__ import annotations

__all__ = ["BatchDecoder", "DecoderStats"]

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

import pyarrow as pa

from monitorx.core.health import Check, Health
from monitorx.core.pii import PiiMasker, PiiPolicy
from monitorx.core.timeparse import to_epoch_us
from monitorx.ingest.decode import Rejection, decode_metric_batch
from monitorx.ingest.masking import masker_for
from monitorx.store.metric_batch import metric_table

logger = logging.getLogger("monitorx.ingest")

# Bodies smaller than this are decoded in-process.
POOL_MIN_BYTES = 64 * 1024

_Decoded = tuple[pa.Table, list[Rejection]]
T = TypeVar("T")
U = TypeVar("U")


def decode_batch_to_table(
    body: bytes, now: datetime, max_items: int, masker: PiiMasker | None = None
) -> _Decoded:
    """Decode and validate a batch body into an Arrow table (tags masked by
    ``masker``) and its rejections."""
    columns, rejected = decode_metric_batch(body, now, max_items, masker)
    return metric_table(columns), rejected


def _decode_in_worker(
    body: bytes, now: datetime, max_items: int, policy: PiiPolicy | None = None
) -> tuple[bytes, list[Rejection]]:
    # The policy travels with each batch (a few hundred bytes pickled); the worker
    # keeps one masker per policy, and with it the values it has already masked.
    masker = None if policy is None else masker_for(policy)
    table, rejected = decode_batch_to_table(body, now, max_items, masker)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), rejected


# How often a worker checks that the server that started it is still there.
PARENT_CHECK_S = 1.0


def _init_worker(parent: int) -> None:
    """A decoding worker allocates thousands of short-lived objects per batch: let the
    garbage collector run less often (as ``monitorx serve`` does in the server).

    A server killed outright (SIGKILL, the OOM killer) cannot stop its pool, and an
    idle worker would wait for work forever: each worker leaves when its parent is
    gone (it is then re-parented, so ``getppid`` is no longer ``parent``, the pid
    the server passed: read here, it could already be the new parent's).

    Ctrl-C in a terminal goes to the whole process group, workers included: they
    ignore it (each would die with a ``KeyboardInterrupt`` traceback, and a batch
    being decoded would fail) and leave when the server stops the pool. A Ctrl-C
    that came while the worker started was held back (``BatchDecoder.start``): it
    is dropped here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    gc.set_threshold(50_000, 20, 20)
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="monitorx-parent-watch", daemon=True
    ).start()


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)


def _warm_up() -> None:
    """Import the decoder in the worker before the first request needs it."""
    to_epoch_us(datetime(2000, 1, 1).astimezone())


@dataclass(frozen=True, slots=True)
class DecoderStats:
    """The decoder's workers and the batches it has decoded, at one moment."""

    workers: int  # configured
    processes: int  # started by the pool
    alive: int
    restarts: int  # of the pool, after a worker died
    in_flight: int  # batches handed to the workers and not yet back (the queue)
    pool_batches: int  # decoded by a worker process
    inline_batches: int  # decoded in the server process (small bodies, no workers)


class BatchDecoder:
    """Decodes batch bodies in ``workers`` processes (0: always in-process)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._allowed = False  # `start` was called (and workers are configured)
        self._warming: list[Future[None]] = []  # the workers' start, until done
        self._restarts = 0
        self._in_flight = 0
        self._pool_batches = 0
        self._inline_batches = 0

    def start(self) -> None:
        """Allow the workers: they are started by the first body large enough to
        need them (an idle server holds no decoder processes: ~140 MiB each), and
        that body is decoded here while they start."""
        self._allowed = self._workers > 0

    def warm(self) -> None:
        """Start the workers now and wait until they are up, rather than at the
        first large body (benchmarks and tests that need them from the start)."""
        if self._allowed and self._pool is None:
            self._spawn()
        for started in self._warming:
            started.result()

    def _spawn(self) -> None:
        # spawn, not fork: the server process already runs threads (DuckDB, uvicorn).
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            self._workers, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
        )
        # The workers start below (each submit starts one while none is idle) and
        # inherit this thread's signal mask: SIGINT stays blocked in them until
        # _init_worker ignores it, so a Ctrl-C cannot interrupt their imports. The
        # pool made its queues above, which started multiprocessing's resource
        # tracker: starting it unblocks SIGINT in the calling thread.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._warming = [self._pool.submit(_warm_up) for _ in range(self._workers)]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _pool_for(self, size: int) -> ProcessPoolExecutor | None:
        """The pool to decode a body of ``size`` bytes in, once its workers have
        started; None: decode here (a small body, no workers, or workers still
        starting: the first large body starts them)."""
        if not self._allowed or size < POOL_MIN_BYTES:
            return None
        if self._pool is None:
            self._spawn()
            return None
        if self._warming:
            if not all(started.done() for started in self._warming):
                return None
            self._warming = []
        return self._pool

    def stop(self) -> None:
        self._warming = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def stats(self) -> DecoderStats:
        """The workers and counts now (what `health` and the server's metrics read)."""
        pool = self._pool
        processes = list((getattr(pool, "_processes", None) or {}).values())
        return DecoderStats(
            workers=self._workers,
            processes=len(processes),
            alive=sum(1 for p in processes if p.is_alive()),
            restarts=self._restarts,
            in_flight=self._in_flight,
            pool_batches=self._pool_batches,
            inline_batches=self._inline_batches,
        )

    def health(self) -> Check:
        """Degraded when a worker process is gone (the pool restarts on the next
        batch that needs it); workers not started, because none is configured or the
        server has not started them yet, are healthy."""
        stats = self.stats()
        measured = {"workers": stats.workers, "restarts": stats.restarts, "alive": stats.alive}
        if stats.processes and stats.alive < stats.processes:
            gone = stats.processes - stats.alive
            return Check(Health.DEGRADED, f"{gone} decoder worker(s) died", measured)
        return Check(Health.HEALTHY, "", measured)

    async def decode(
        self, body: bytes, now: datetime, max_items: int, masker: PiiMasker | None = None
    ) -> _Decoded:
        """An inference batch body as an Arrow table, its tags masked by ``masker``
        (here, or by a masker of its policy in the worker), and its rejections."""
        if self._pool_for(len(body)) is None:
            self._inline_batches += 1
            return decode_batch_to_table(body, now, max_items, masker)
        policy = None if masker is None else masker.policy
        ipc, rejected = await self.run(
            partial(_decode_in_worker, policy=policy),
            partial(decode_batch_to_table, masker=masker),
            body,
            now,
            max_items,
        )
        if isinstance(ipc, pa.Table):  # decoded here: the pool had just died
            return ipc, rejected
        return pa.ipc.open_stream(ipc).read_all(), rejected

    async def run(
        self,
        in_worker: Callable[[bytes, datetime, int], T],
        in_process: Callable[[bytes, datetime, int], U],
        body: bytes,
        now: datetime,
        max_items: int,
    ) -> T | U:
        """``in_worker`` (a module-level function, its result sent back pickled) in a
        worker for a large body; ``in_process`` here for a small one, without
        workers, or when the pool has just died (it is restarted)."""
        pool = self._pool_for(len(body))
        if pool is None:
            self._inline_batches += 1
            return in_process(body, now, max_items)
        loop = asyncio.get_running_loop()
        self._in_flight += 1
        try:
            result = await loop.run_in_executor(pool, in_worker, body, now, max_items)
        except BrokenProcessPool:
            logger.error("an ingest worker process died; restarting the pool")
            self._restarts += 1
            self.stop()
            self.start()
            self._inline_batches += 1
            return in_process(body, now, max_items)
        finally:
            self._in_flight -= 1
        self._pool_batches += 1
        return result
