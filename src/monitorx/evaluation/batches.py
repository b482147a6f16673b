"""After a write is committed: check thresholds and hand breaches to the alert engine.

Runs off the request path, in one task, so a 202 never waits for alerting and
breaches of one model are processed in order.
"""

from __future__ import annotations

__all__ = ["Evaluator"]

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pyarrow as pa

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.thresholds import (
    MetricArrays,
    drift_breach,
    error_rate_breach,
    evaluate_thresholds,
)
from monitorx.core import Breach, DriftMetric, MetricColumns
from monitorx.core.timeparse import EPOCH
from monitorx.evaluation.registry import ModelRegistry
from monitorx.store import MetricStore

logger = logging.getLogger("monitorx.evaluation")
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
    ) -> None:
        self._storage = storage
        self._registry = registry
        self._engine = engine
        self._window = timedelta(seconds=error_rate_window_s)
        self._min_count = error_rate_min_count
        self._queue: asyncio.Queue[pa.Table | MetricColumns | DriftMetric] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._committed_listeners: list[Callable[[pa.Table | MetricColumns], None]] = []

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
        self._queue.put_nowait(item)

    async def drain(self) -> None:
        """Wait until everything submitted so far has been evaluated."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                breaches = (
                    await self._drift(item)
                    if isinstance(item, DriftMetric)
                    else await self._metrics(item)
                )
                if breaches:
                    await self._engine.process(breaches)
            except Exception:
                logger.exception("evaluating a batch failed")
            finally:
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
