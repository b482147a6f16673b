"""What every backend's span store shares: the Arrow schema a batch of spans is
written in, and the trace list's query."""

from __future__ import annotations

__all__ = ["SPAN_COLUMNS", "SPAN_SCHEMA", "TraceQuery"]

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

# One row per span. Times are naive UTC microseconds; ``status`` is one of
# `core.traces.SPAN_STATUSES`; ``attributes``, ``resource`` and ``events`` are JSON
# texts (an object, an object, a list).
SPAN_SCHEMA = pa.schema(
    [
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("span_id", pa.string(), nullable=False),
        pa.field("parent_span_id", pa.string()),
        pa.field("name", pa.string(), nullable=False),
        pa.field("kind", pa.int64(), nullable=False),
        pa.field("start_ts", pa.timestamp("us"), nullable=False),
        pa.field("end_ts", pa.timestamp("us"), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("status_message", pa.string()),
        pa.field("model_id", pa.string()),
        pa.field("session_id", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("attributes", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
        pa.field("events", pa.string(), nullable=False),
    ]
)
SPAN_COLUMNS = tuple(SPAN_SCHEMA.names)


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """Which traces to list (newest first by their first span's start): those with
    a span starting in ``[start, end)``, and each filter that is set holding —
    ``model_id``/``session_id``: a span of the trace has it; ``error``: whether a
    span failed; ``min_duration_ms``: the trace took at least that long."""

    start: datetime
    end: datetime
    limit: int = 100
    model_id: str | None = None
    session_id: str | None = None
    error: bool | None = None
    min_duration_ms: float | None = None
