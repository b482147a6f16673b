"""After a write is committed: check thresholds and hand breaches to the alert engine.

Runs off the request path, in one task, so a 202 never waits for alerting and
breaches of one model are processed in order.
"""

from __future__ import annotations

__all__ = ["Evaluator"]

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.thresholds import (
    MetricArrays,
    drift_breach,
    error_rate_breach,
    evaluate_thresholds,
)
from monitorx.core import Breach, Clock, DriftMetric, MetricColumns
from monitorx.core.health import FAILED_ATTEMPTS, Check, Health
from monitorx.core.timeparse import EPOCH
from monitorx.evaluation.registry import ModelRegistry
from monitorx.store import MetricStore

logger = logging.getLogger("monitorx.evaluation")
# A committed batch waiting longer than this to be evaluated makes alerting degraded.
EVALUATION_LAG_S = 10.0
_CHECKED = ("latency", "error_rate", "gpu_memory_mb", "cpu_percent", "memory_mb")


def metric_arrays(batch: pa.Table | MetricColumns) -> MetricArrays:
    """The numpy view of a committed batch that the threshold checks read."""
    if isinstance(batch, MetricColumns):
        names = sorted(set(batch.model_id))
        index = {name: code for code, name in enumerate(names)}
        return MetricArrays(
            model_ids=names,
            model_code=np.array([index[m] for m in batch.model_id], dtype=np.int32),
            ts_us=np.asarray(batch.ts_us, dtype=np.int64),
            error=np.asarray(batch.error, dtype=bool),
            values={name: np.array(getattr(batch, name), dtype=np.float64) for name in _CHECKED},
        )
    table = batch
    encoded = table.column("model_id").combine_chunks().dictionary_encode()
    return MetricArrays(
        model_ids=encoded.dictionary.to_pylist(),
        model_code=encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32),
        ts_us=table.column("ts").cast(pa.int64()).to_numpy(),
        error=table.column("error").to_numpy(zero_copy_only=False).astype(bool),
        values={
            name: table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
            for name in _CHECKED
        },
    )


class Evaluator:
    def __init__(
        self,
        storage: MetricStore,
        registry: ModelRegistry,
        engine: AlertEngine,
        error_rate_window_s: float,
        error_rate_min_count: int,
        clock: Clock,
    ) -> None:
        self._storage = storage
        self._registry = registry
        self._engine = engine
        self._window = timedelta(seconds=error_rate_window_s)
        self._min_count = error_rate_min_count
        self._clock = clock
        self._queue: asyncio.Queue[pa.Table | MetricColumns | DriftMetric] = asyncio.Queue()
        # When each queued batch was queued, oldest first (for `health`).
        self._queued_at: deque[datetime] = deque()
        self._last_run: datetime | None = None
        self._failures_in_a_row = 0
        self._last_error = ""
        self._task: asyncio.Task[None] | None = None
        self._committed_listeners: list[Callable[[pa.Table | MetricColumns], None]] = []
        # Counted since the start, for the server's metrics: evaluation rounds, the
        # rounds that failed, and the threshold breaches found (each handed to the
        # alert engine, which opens or updates an alert).
        self.rounds = 0
        self.failed_rounds = 0
        self.breaches = 0

    @property
    def backlog(self) -> int:
        """Committed batches waiting to be evaluated."""
        return len(self._queued_at)

    def add_committed_listener(self, listener: Callable[[pa.Table | MetricColumns], None]) -> None:
        """Call ``listener`` with every committed batch of metrics, on the request's
        task: it must be quick and must not block (the live hub only queues)."""
        self._committed_listeners.append(listener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="monitorx-evaluator")

    async def stop(self) -> None:
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def submit(self, item: pa.Table | MetricColumns | DriftMetric) -> None:
        """Queue a committed batch or drift metric for evaluation."""
        if not isinstance(item, DriftMetric):
            for listener in self._committed_listeners:
                try:
                    listener(item)
                except Exception:
                    logger.exception("committed-batch listener %r failed", listener)
        if not isinstance(item, DriftMetric) and not self._registry.thresholds():
            return  # nothing to check against; skip the queue on the hot path
        self._queued_at.append(self._clock.now())
        self._queue.put_nowait(item)

    def health(self) -> Check:
        """Degraded when a committed batch has waited more than `EVALUATION_LAG_S` to
        be evaluated, or the last `FAILED_ATTEMPTS` rounds failed."""
        now = self._clock.now()
        backlog = self.backlog
        oldest_s = (now - self._queued_at[0]).total_seconds() if self._queued_at else 0.0
        reasons = []
        if oldest_s > EVALUATION_LAG_S:
            reasons.append(f"{backlog} committed batches wait; the oldest for {oldest_s:.0f} s")
        if self._failures_in_a_row >= FAILED_ATTEMPTS:
            reasons.append(
                f"the last {self._failures_in_a_row} evaluations failed: {self._last_error}"
            )
        measured = {
            "backlog": backlog,
            "oldest_waiting_s": round(oldest_s, 3),
            "last_run": None if self._last_run is None else self._last_run.isoformat(),
        }
        status = Health.DEGRADED if reasons else Health.HEALTHY
        return Check(status, "; ".join(reasons), measured)

    async def drain(self) -> None:
        """Wait until everything submitted so far has been evaluated."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            # What arrived while the last round ran is evaluated as one round: a storm
            # of single-metric requests becomes one engine step (one commit).
            items = [await self._queue.get()]
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            for _ in items:
                self._queued_at.popleft()
            try:
                breaches: list[Breach] = []
                for item in items:
                    breaches += (
                        await self._drift(item)
                        if isinstance(item, DriftMetric)
                        else await self._metrics(item)
                    )
                self.breaches += len(breaches)
                if breaches:
                    await self._engine.process(breaches)
            except Exception as exc:
                self.failed_rounds += 1
                self._failures_in_a_row += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                logger.exception("evaluating %d committed batches failed", len(items))
            else:
                self._failures_in_a_row = 0
            finally:
                self.rounds += 1
                self._last_run = self._clock.now()
                for _ in items:
                    self._queue.task_done()

    async def _drift(self, metric: DriftMetric) -> list[Breach]:
        # Effective thresholds: the model's own, else its threshold profile's.
        found = self._registry.thresholds().get(metric.model_id)
        limit = None if found is None else found.drift_confidence
        breach = drift_breach(metric, limit)
        return [] if breach is None else [breach]

    async def _metrics(self, committed: pa.Table | MetricColumns) -> list[Breach]:
        thresholds = self._registry.thresholds()
        batch = metric_arrays(committed)
        breaches = evaluate_thresholds(batch, thresholds)
        # The error-rate rule over a recent window, for models whose metrics flag errors.
        latest_error_us: dict[str, int] = {}
        for row in np.flatnonzero(batch.error):
            model_id = batch.model_ids[batch.model_code[row]]
            if model_id in thresholds and thresholds[model_id].error_rate is not None:
                ts = int(batch.ts_us[row])
                latest_error_us[model_id] = max(ts, latest_error_us.get(model_id, 0))
        for model_id, ts_us in latest_error_us.items():
            limit = thresholds[model_id].error_rate
            assert limit is not None
            end = EPOCH + timedelta(microseconds=ts_us + 1)
            window = await self._storage.error_window(model_id, end - self._window, end)
            if window.count < self._min_count or window.error_rate is None:
                continue
            breach = error_rate_breach(
                model_id,
                window.error_rate,
                window.count,
                limit,
                self._window.total_seconds(),
                end,
            )
            if breach is not None:
                breaches = [
                    b
                    for b in breaches
                    if b.model_id != model_id or b.alert_type != breach.alert_type
                ]
                breaches.append(breach)
        return breaches
