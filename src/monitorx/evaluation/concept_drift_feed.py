"""Committed batches into each configured model's concept-drift monitor.

The evaluator hands every committed batch to `ConceptDriftFeed.offer` (a batch
listener): when no model is configured that costs one check; otherwise the batch
is queued and fed, off the request path in one task, to the monitors of the models
it holds, each model's points in time order. A detection raises a ``drift`` alert
labelled ``{"drift_type": "concept"}`` through the engine, saying where it happened
(time and index in the stream); it resolves by the clear period.

Configs are documents of kind ``concept_drift`` keyed by model id. A monitor starts
empty when its model is configured (or reconfigured) and when the server starts:
its stream index counts points since then.
"""

from __future__ import annotations

__all__ = ["DOCUMENT_KIND", "ConceptDriftFeed", "ConceptDriftStatus", "concept_drift_breach"]

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.concept_drift import (
    RECENT_POINTS,
    ConceptDriftConfig,
    ConceptDriftDetection,
    DriftDetectorName,
    StreamMetric,
    StreamMonitor,
    parse_concept_drift_config,
)
from monitorx.core import AlertType, Breach, MetricColumns, Severity
from monitorx.core.timeparse import from_epoch_us
from monitorx.evaluation.batches import metric_arrays
from monitorx.store import DocumentStore

logger = logging.getLogger("monitorx.concept_drift")
DOCUMENT_KIND = "concept_drift"
# Batches waiting to be fed at most; past it new batches are dropped (and counted),
# so that a slow detector (KSWIN: ~1 ms a point) cannot make memory grow with traffic.
MAX_QUEUED_BATCHES = 256
# Reads `reload` makes at most while changes made here keep overtaking it.
RELOAD_TRIES = 3
_DETECTOR_WORDS = {
    DriftDetectorName.ADWIN: "ADWIN",
    DriftDetectorName.DDM: "DDM",
    DriftDetectorName.PAGE_HINKLEY: "Page-Hinkley",
    DriftDetectorName.KSWIN: "KSWIN",
}


@dataclass(frozen=True, slots=True)
class ConceptDriftStatus:
    """A model's config, and what its monitor has seen since it started."""

    config: ConceptDriftConfig
    points_seen: int
    detections: int
    last_detection: ConceptDriftDetection | None
    batches_dropped: int = 0


def _level(metric: StreamMetric, value: float) -> str:
    return f"{value:.1%}" if metric is StreamMetric.ERROR else f"{value:,.1f} ms"


def concept_drift_breach(
    model_id: str, config: ConceptDriftConfig, found: ConceptDriftDetection
) -> Breach:
    """The alert a detection raises: value is the stream's recent mean, threshold its
    mean before the change."""
    stream = "error stream" if config.metric is StreamMetric.ERROR else "latency stream"
    level = "error rate" if config.metric is StreamMetric.ERROR else "mean latency"
    when = from_epoch_us(found.ts_us)
    return Breach(
        model_id=model_id,
        alert_type=AlertType.DRIFT,
        severity=Severity.HIGH,
        value=found.mean_recent,
        threshold=found.mean_before,
        message=(
            f"concept drift in the {stream} of model {model_id}: "
            f"{_DETECTOR_WORDS[config.detector]} detected a change at "
            f"{when.isoformat(timespec='seconds').replace('+00:00', 'Z')} "
            f"(point {found.index:,} of the stream); {level} "
            f"{_level(config.metric, found.mean_before)} before, "
            f"{_level(config.metric, found.mean_recent)} over the last {RECENT_POINTS} points"
        ),
        observed_at=when,
        labels={"drift_type": "concept"},
    )


class ConceptDriftFeed:
    """Keeps each configured model's monitor and feeds it committed batches."""

    def __init__(self, storage: DocumentStore, engine: AlertEngine) -> None:
        self._storage = storage
        self._engine = engine
        self._monitors: dict[str, StreamMonitor] = {}
        self._detections: dict[str, list[ConceptDriftDetection]] = {}
        self._queue: asyncio.Queue[pa.Table | MetricColumns] = asyncio.Queue(MAX_QUEUED_BATCHES)
        self._task: asyncio.Task[None] | None = None
        self.batches_dropped = 0
        self._writes = 0  # configs changed here, for `reload`

    async def load(self) -> None:
        """Start a monitor for every stored config."""
        for model_id, body in await self._storage.list_documents(DOCUMENT_KIND):
            try:
                config = parse_concept_drift_config(orjson.loads(body))
            except Exception:
                logger.exception("stored concept-drift config of %s is unreadable", model_id)
                continue
            self._start_monitor(model_id, config)

    async def reload(self) -> None:
        """Follow the stored configs again (another replica changed them): a model
        whose config is unchanged keeps its monitor and what it detected; a new or
        changed config starts its monitor afresh; a removed one stops."""
        # A change made here while the store was read may be missing from the read.
        for _ in range(RELOAD_TRIES):
            writes = self._writes
            stored: dict[str, ConceptDriftConfig] = {}
            for model_id, body in await self._storage.list_documents(DOCUMENT_KIND):
                try:
                    stored[model_id] = parse_concept_drift_config(orjson.loads(body))
                except Exception:
                    logger.exception("stored concept-drift config of %s is unreadable", model_id)
            if writes == self._writes:
                break
        for model_id in set(self._monitors) - set(stored):
            self._monitors.pop(model_id, None)
            self._detections.pop(model_id, None)
        for model_id, config in stored.items():
            monitor = self._monitors.get(model_id)
            if monitor is None or monitor.config != config:
                self._start_monitor(model_id, config)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="monitorx-concept-drift")

    async def stop(self) -> None:
        """Stop feeding; batches still queued are not fed (monitors are not kept
        across restarts, and a slow detector must not hold up shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def drain(self) -> None:
        """Wait until every batch offered so far has been fed."""
        await self._queue.join()

    def offer(self, batch: pa.Table | MetricColumns) -> None:
        """Queue a committed batch (a cheap no-op while no model is configured); drop
        it when ``MAX_QUEUED_BATCHES`` are already waiting."""
        if not self._monitors:
            return
        try:
            self._queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.batches_dropped += 1
            if self.batches_dropped % 100 == 1:
                logger.warning(
                    "concept-drift monitors fall behind: %d batches dropped so far",
                    self.batches_dropped,
                )

    async def configure(self, model_id: str, config: ConceptDriftConfig) -> bool:
        """Store a model's config and start its monitor afresh; True when created."""
        created = await self._storage.put_document(
            DOCUMENT_KIND, model_id, orjson.dumps(config.to_dict()).decode()
        )
        self._start_monitor(model_id, config)
        self._writes += 1
        return created

    async def remove(self, model_id: str) -> bool:
        """Stop monitoring a model; True when it was configured."""
        deleted = await self._storage.delete_document(DOCUMENT_KIND, model_id)
        self._monitors.pop(model_id, None)
        self._detections.pop(model_id, None)
        self._writes += 1
        return deleted

    def status(self, model_id: str) -> ConceptDriftStatus | None:
        monitor = self._monitors.get(model_id)
        if monitor is None:
            return None
        found = self._detections.get(model_id, [])
        return ConceptDriftStatus(
            monitor.config,
            monitor.seen,
            len(found),
            found[-1] if found else None,
            self.batches_dropped,
        )

    def _start_monitor(self, model_id: str, config: ConceptDriftConfig) -> None:
        self._monitors[model_id] = StreamMonitor(config)
        self._detections[model_id] = []

    async def _run(self) -> None:
        while True:
            batch = await self._queue.get()
            try:
                breaches = await asyncio.to_thread(self._feed, batch)
                if breaches:
                    await self._engine.process(breaches)
            except Exception:
                logger.exception("feeding a batch to the concept-drift monitors failed")
            finally:
                self._queue.task_done()

    def _feed(self, batch: pa.Table | MetricColumns) -> list[Breach]:
        """Feed each configured model's points, in time order; the breaches found.
        Runs in a worker thread, one batch at a time."""
        arrays = metric_arrays(batch)
        breaches: list[Breach] = []
        for code, model_id in enumerate(arrays.model_ids):
            monitor = self._monitors.get(model_id)
            if monitor is None:
                continue
            rows = np.flatnonzero(arrays.model_code == code)
            rows = rows[np.argsort(arrays.ts_us[rows], kind="stable")]
            if monitor.config.metric is StreamMetric.ERROR:
                values = arrays.error[rows].astype(np.float64)
            else:
                values = arrays.values["latency"][rows]
            found = monitor.feed(values.tolist(), arrays.ts_us[rows].tolist())
            if found:
                self._detections.setdefault(model_id, []).extend(found)
                # One breach per batch: the newest detection says where it stands now.
                breaches.append(concept_drift_breach(model_id, monitor.config, found[-1]))
        return breaches
