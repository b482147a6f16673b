"""Per-model series for Prometheus: requests, errors and latency of each model.

Off by default (``MONITORX_PROMETHEUS_MODEL_SERIES``): each model is a label
value, and a server with thousands of models would give Prometheus thousands of
series per family. When on, `ModelSeries.observe` listens to every committed batch
of inference metrics (one metric is one request the model served) and counts it
per ``model_id``: on the request's task, so it does only arithmetic — a batch's
latencies are bucketed with numpy, one metric's in plain Python.
"""

from __future__ import annotations

__all__ = ["ModelSeries"]

import numpy as np
import pyarrow as pa

from monitorx.core import MetricColumns
from monitorx.core.histogram import SECONDS_BUCKETS, BucketHistogram
from monitorx.evaluation.batches import metric_arrays

# Batches up to this many metrics are counted in plain Python: numpy's set-up
# costs more than it saves on a handful of rows.
_PLAIN_ROWS = 16
_BOUNDS = np.asarray(SECONDS_BUCKETS)
_MS_PER_S = 1000.0


class ModelSeries:
    """Requests, errors and a latency histogram (seconds) per model."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.latency: dict[str, BucketHistogram] = {}

    def copy(self) -> ModelSeries:
        copied = ModelSeries()
        copied.requests = dict(self.requests)
        copied.errors = dict(self.errors)
        copied.latency = {model_id: h.copy() for model_id, h in self.latency.items()}
        return copied

    def observe(self, batch: pa.Table | MetricColumns) -> None:
        """Count a committed batch of inference metrics (an evaluator listener)."""
        if isinstance(batch, MetricColumns) and len(batch) <= _PLAIN_ROWS:
            for model_id, latency_ms, error in zip(
                batch.model_id, batch.latency, batch.error, strict=True
            ):
                self._count(model_id, 1, int(error))
                self._histogram(model_id).observe(latency_ms / _MS_PER_S)
            return
        arrays = metric_arrays(batch)
        latency_s = arrays.values["latency"] / _MS_PER_S
        bucket = np.searchsorted(_BOUNDS, latency_s, side="left")
        for code, model_id in enumerate(arrays.model_ids):
            rows = arrays.model_code == code
            served = int(np.count_nonzero(rows))
            if not served:
                continue
            self._count(model_id, served, int(np.count_nonzero(arrays.error[rows])))
            counts = np.bincount(bucket[rows], minlength=len(SECONDS_BUCKETS) + 1)
            self._histogram(model_id).add(counts.tolist(), float(latency_s[rows].sum()))

    def _count(self, model_id: str, requests: int, errors: int) -> None:
        self.requests[model_id] = self.requests.get(model_id, 0) + requests
        self.errors[model_id] = self.errors.get(model_id, 0) + errors

    def _histogram(self, model_id: str) -> BucketHistogram:
        found = self.latency.get(model_id)
        if found is None:
            found = self.latency[model_id] = BucketHistogram(SECONDS_BUCKETS)
        return found
