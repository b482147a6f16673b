"""The unit of the write path: a batch of inference metrics as one Arrow table."""

from __future__ import annotations

__all__ = ["METRIC_BATCH_SCHEMA", "metric_table"]

import pyarrow as pa

from monitorx.core import MetricColumns

# Column order of ``inference_metrics`` after ``project_id``, which the store adds.
METRIC_BATCH_SCHEMA = pa.schema(
    [
        ("model_id", pa.string()),
        ("model_type", pa.string()),
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us")),
        ("latency", pa.float64()),
        ("throughput", pa.float64()),
        ("error_rate", pa.float64()),
        ("error", pa.bool_()),
        ("gpu_memory_mb", pa.float64()),
        ("gpu_utilization", pa.float64()),
        ("cpu_percent", pa.float64()),
        ("memory_mb", pa.float64()),
        ("tags", pa.string()),
    ]
)


def metric_table(batch: MetricColumns) -> pa.Table:
    """The Arrow table (``METRIC_BATCH_SCHEMA``) of a decoded batch."""
    arrays = [
        pa.array(batch.model_id, pa.string()),
        pa.array(batch.model_type, pa.string()),
        pa.array(batch.request_id, pa.string()),
        pa.array(batch.ts_us, pa.timestamp("us")),
        pa.array(batch.latency, pa.float64()),
        pa.array(batch.throughput, pa.float64()),
        pa.array(batch.error_rate, pa.float64()),
        pa.array(batch.error, pa.bool_()),
        pa.array(batch.gpu_memory_mb, pa.float64()),
        pa.array(batch.gpu_utilization, pa.float64()),
        pa.array(batch.cpu_percent, pa.float64()),
        pa.array(batch.memory_mb, pa.float64()),
        pa.array(batch.tags_json, pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=METRIC_BATCH_SCHEMA)
