"""The anomaly scan: every model's metric series, per minute, through the detectors.

A scheduler job (`AnomalyScanner.scan_once`, every ``anomaly_scan_interval_s``)
reads each model's series as one-minute buckets through `TieredReads` (raw points
within their retention, rollups beyond), runs the detectors of
`monitorx.analysis.anomaly` on the buckets not scanned yet and hands one breach per
(series, detector) that found something to the alert engine: an ``anomaly`` alert
labelled ``{"series": ..., "detector": ...}``, resolved by the clear period.

Idempotent per bucket: a bucket is scanned once. How far a model has been scanned is
kept as a storage marker (``anomaly_scan:<model id>``), so a restart neither
re-alerts old buckets nor skips new ones. A bucket is scanned once it is
``SETTLE_S`` old (late points have arrived); a model scanned for the first time has
its last ``INITIAL_LOOKBACK_S`` scanned, not its whole history.

History is kept in memory per (model, series) — at most ``history_s`` of minute
buckets (16 bytes each: 15 days ≈ 350 KB a series) — and each scan reads only the
new buckets and the last ``REREAD_S`` again (late points join the baseline; a
minute already scored is not scored again).
"""

from __future__ import annotations

__all__ = ["SERIES", "AnomalyScanner", "MetricSeries", "anomaly_breach"]

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.anomaly import Anomaly, AnomalyDetector, find_anomalies
from monitorx.core import AlertType, Breach, Clock, MetricName, Severity
from monitorx.store import Aggregation, LifecycleStore, TieredReads

logger = logging.getLogger("monitorx.anomaly")

BUCKET_S = 60
# A minute is scanned once it ended this long ago, so that late points are in it.
SETTLE_S = 60
# How far back the first scan of a model looks for anomalies (not the history it
# reads: that is ``history_s``).
INITIAL_LOOKBACK_S = 600
# Each read goes this far back over what was read before (late points).
REREAD_S = 600
MARKER_PREFIX = "anomaly_scan:"
# |z| at or past this many times the threshold makes an anomaly high, else medium.
HIGH_SEVERITY_FACTOR = 1.5


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """One series the scan watches: how to read it and how to talk about it.

    ``min_scale`` is the smallest spread that means anything in the series' unit.
    """

    name: str
    metric: MetricName
    agg: Aggregation
    words: str
    unit: str
    min_scale: float

    def format(self, value: float) -> str:
        if self.unit == "ratio":
            return f"{value:.1%}"
        if self.unit == "%":
            return f"{value:,.1f}%"
        return f"{value:,.4g} {self.unit}" if abs(value) < 1000 else f"{value:,.0f} {self.unit}"


SERIES: tuple[MetricSeries, ...] = (
    MetricSeries("latency_p95", MetricName.LATENCY, Aggregation.P95, "latency p95", "ms", 1.0),
    MetricSeries("latency_mean", MetricName.LATENCY, Aggregation.MEAN, "mean latency", "ms", 1.0),
    MetricSeries(
        "error_rate", MetricName.ERROR_RATE, Aggregation.MEAN, "error rate", "ratio", 0.005
    ),
    MetricSeries(
        "throughput", MetricName.LATENCY, Aggregation.COUNT, "throughput", "requests/min", 1.0
    ),
    MetricSeries("cpu_percent", MetricName.CPU_PERCENT, Aggregation.MEAN, "CPU", "%", 1.0),
    MetricSeries("memory_mb", MetricName.MEMORY_MB, Aggregation.MEAN, "memory", "MB", 1.0),
    MetricSeries(
        "gpu_memory_mb", MetricName.GPU_MEMORY_MB, Aggregation.MEAN, "GPU memory", "MB", 1.0
    ),
    MetricSeries(
        "gpu_utilization",
        MetricName.GPU_UTILIZATION,
        Aggregation.MEAN,
        "GPU utilization",
        "%",
        1.0,
    ),
)


@dataclass(slots=True)
class _History:
    """The buckets of one series kept in memory, and how far they have been read."""

    read_until_s: int
    times_s: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    values: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def _epoch_s(when: datetime) -> int:
    return int(when.timestamp())


def _at(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def anomaly_breach(
    model_id: str, series: MetricSeries, anomaly: Anomaly, z_threshold: float
) -> Breach:
    """The breach an anomaly raises; the message names the series, the expected range
    and the observed value. Every series is non-negative: the range starts at 0 or
    above."""
    low = max(anomaly.low, 0.0)
    above = anomaly.value > anomaly.high
    severity = (
        Severity.HIGH if abs(anomaly.z) >= HIGH_SEVERITY_FACTOR * z_threshold else Severity.MEDIUM
    )
    minute = _at(anomaly.time_s).strftime("%Y-%m-%d %H:%M UTC")
    return Breach(
        model_id=model_id,
        alert_type=AlertType.ANOMALY,
        severity=severity,
        value=anomaly.value,
        threshold=anomaly.high if above else low,
        message=(
            f"{series.words} {series.format(anomaly.value)} outside the expected "
            f"{series.format(low)}–{series.format(anomaly.high)} "
            f"({anomaly.method} z {anomaly.z:.1f}) on model {model_id} at {minute}"
        ),
        observed_at=_at(anomaly.time_s),
        labels={"series": series.name, "detector": anomaly.detector.value},
    )


class AnomalyScanner:
    """Scans every model's series for anomalies and raises them through the engine."""

    def __init__(
        self,
        storage: LifecycleStore,
        history: TieredReads,
        engine: AlertEngine,
        clock: Clock,
        detectors: Sequence[AnomalyDetector],
        z_threshold: float,
        history_s: float,
        series: Sequence[MetricSeries] = SERIES,
    ) -> None:
        self._storage = storage
        self._reads = history
        self._engine = engine
        self._clock = clock
        self._detectors = list(detectors)
        self._z = z_threshold
        self._history_s = int(history_s)
        self._series = list(series)
        self._kept: dict[tuple[str, str], _History] = {}
        self._scanned: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def scan_once(self, model_ids: Iterable[str]) -> list[Breach]:
        """Scan the settled buckets not scanned yet of each model; return the breaches
        handed to the engine."""
        end_s = (_epoch_s(self._clock.now()) - SETTLE_S) // BUCKET_S * BUCKET_S
        raised: list[Breach] = []
        async with self._lock:
            models = list(model_ids)
            self._forget_others(set(models))
            for model_id in models:
                try:
                    raised += await self._scan_model(model_id, end_s)
                except Exception:
                    logger.exception("anomaly scan of model %s failed", model_id)
        return raised

    async def _scan_model(self, model_id: str, end_s: int) -> list[Breach]:
        scanned_s = await self._scanned_until(model_id, end_s)
        if end_s <= scanned_s:
            return []
        breaches: list[Breach] = []
        kept_series = [await self._read(model_id, series, end_s) for series in self._series]
        if not any(len(kept.values) for kept in kept_series):
            # Nothing logged yet: start over next time, so that history logged late
            # (a backfill) is read and its last minutes scanned.
            self._forget(model_id)
            return []
        for series, kept in zip(self._series, kept_series, strict=True):
            start = int(np.searchsorted(kept.times_s, scanned_s, "left"))
            if start >= len(kept.values):
                continue
            found = await asyncio.to_thread(
                find_anomalies,
                kept.times_s,
                kept.values,
                start,
                self._detectors,
                self._z,
                series.min_scale,
            )
            # One breach per detector: its newest anomalous bucket.
            newest = {a.detector: a for a in found}
            breaches += [anomaly_breach(model_id, series, a, self._z) for a in newest.values()]
        if breaches:
            await self._engine.process(breaches)
        self._scanned[model_id] = end_s
        await self._storage.set_marker(MARKER_PREFIX + model_id, str(end_s))
        return breaches

    async def _scanned_until(self, model_id: str, end_s: int) -> int:
        if model_id not in self._scanned:
            stored = await self._storage.get_marker(MARKER_PREFIX + model_id)
            self._scanned[model_id] = (
                int(stored) if stored is not None else end_s - INITIAL_LOOKBACK_S
            )
        return self._scanned[model_id]

    async def _read(self, model_id: str, series: MetricSeries, end_s: int) -> _History:
        """The series' history up to ``end_s``, reading only the buckets not read yet."""
        key = (model_id, series.name)
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = _History(read_until_s=end_s - self._history_s)
        if kept.read_until_s < end_s:
            oldest_s = end_s - self._history_s
            # The last minutes read are read again: points that arrived late (a
            # backfill, a write still landing) join the baseline.
            start_s = max(oldest_s, kept.read_until_s - REREAD_S)
            result = await self._reads.aggregate(
                model_id, series.metric, series.agg, BUCKET_S, _at(start_s), _at(end_s)
            )
            times = np.array([_epoch_s(b.time) for b in result.buckets], dtype=np.int64)
            values = np.array([b.value for b in result.buckets], dtype=np.float64)
            keep = np.isfinite(values)
            old = (kept.times_s >= oldest_s) & (kept.times_s < start_s)
            kept.times_s = np.concatenate([kept.times_s[old], times[keep]])
            kept.values = np.concatenate([kept.values[old], values[keep]])
            kept.read_until_s = end_s
        return kept

    def _forget_others(self, models: set[str]) -> None:
        """Drop what is kept of models that are gone (deleted or purged)."""
        for model_id in {k[0] for k in self._kept} | set(self._scanned):
            if model_id not in models:
                self._forget(model_id)

    def _forget(self, model_id: str) -> None:
        for key in [k for k in self._kept if k[0] == model_id]:
            del self._kept[key]
        self._scanned.pop(model_id, None)
