"""The unit of the write path: a batch of inference metrics as one Arrow table."""

from __future__ import annotations

__all__ = [
    "ERROR_CONTRIBUTION_SQL",
    "METRIC_BATCH_SCHEMA",
    "ROLLUP_SCHEMA",
    "conform_metric_table",
    "metric_sql",
    "metric_table",
]

import pyarrow as pa

from monitorx.core import MetricColumns, MetricName

# The contribution of one metric to an error rate (API.md): 1.0 if it flags an
# error, else its own error_rate if given, else 0.0 (SQL that DuckDB and
# PostgreSQL both read).
ERROR_CONTRIBUTION_SQL = "CASE WHEN error THEN 1.0 ELSE coalesce(error_rate, 0.0) END"


def metric_sql(metric: MetricName) -> str:
    """The SQL expression of a series over ``inference_metrics`` rows: its column
    (named as the series), or the error contribution for ``error_rate``."""
    return ERROR_CONTRIBUTION_SQL if metric is MetricName.ERROR_RATE else metric.value


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
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("time_to_first_token_ms", pa.float64()),
        ("cost_usd", pa.float64()),
    ]
)

# One rollup row: one metric of one model and tag set over one minute or hour.
# ``tags`` is the canonical JSON of the tag set ("{}" for none); ``metric`` a
# `MetricName` value; ``sum`` for ``error_rate`` is the sum of error contributions
# (the error count when clients flag errors); ``sketch`` a serialized KLL sketch
# (datasketches ``kll_doubles_sketch``) of the values, for mergeable percentiles.
ROLLUP_SCHEMA = pa.schema(
    [
        ("model_id", pa.string()),
        ("tags", pa.string()),
        ("metric", pa.string()),
        ("bucket", pa.timestamp("us")),
        ("count", pa.int64()),
        ("sum", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("sketch", pa.binary()),
    ]
)


# The `MetricColumns` attribute behind each column whose name differs.
_ATTRIBUTES = {"ts": "ts_us", "tags": "tags_json"}


def metric_table(batch: MetricColumns) -> pa.Table:
    """The Arrow table (``METRIC_BATCH_SCHEMA``) of a decoded batch."""
    arrays = [
        pa.array(getattr(batch, _ATTRIBUTES.get(field.name, field.name)), field.type)
        for field in METRIC_BATCH_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=METRIC_BATCH_SCHEMA)


def conform_metric_table(table: pa.Table) -> pa.Table:
    """``table`` in ``METRIC_BATCH_SCHEMA``, written by this or an older release: the
    columns a release added since (the LLM fields) are filled with nulls."""
    if table.schema.equals(METRIC_BATCH_SCHEMA):
        return table
    arrays = [
        table.column(field.name).cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in METRIC_BATCH_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=METRIC_BATCH_SCHEMA)
