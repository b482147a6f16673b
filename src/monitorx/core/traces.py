"""Traces as MonitorX keeps them: spans (OTLP's, decoded) and the per-trace summary
the trace list shows (API.md "Events, logs and traces").

Ids are lowercase hex, as OTLP/JSON writes them: 32 characters for a trace, 16 for
a span. Times are aware UTC datetimes; a span's ``attributes``, ``resource`` and
``events`` are kept as plain JSON data, as sent (after masking).
"""

from __future__ import annotations

__all__ = ["SPAN_STATUSES", "StoredSpan", "TraceSummary"]

from dataclasses import dataclass, field
from datetime import datetime

# OTLP's Status.code, by number, as the API names it.
SPAN_STATUSES = ("unset", "ok", "error")


@dataclass(frozen=True, slots=True)
class StoredSpan:
    """One span of a trace, as read back."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    """OTLP's SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer."""
    start: datetime
    end: datetime
    status: str
    """One of `SPAN_STATUSES`."""
    status_message: str | None = None
    model_id: str | None = None
    session_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    attributes: dict[str, object] = field(default_factory=dict)
    resource: dict[str, object] = field(default_factory=dict)
    events: list[dict[str, object]] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start).total_seconds() * 1000.0


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace as the trace list shows it: its root span's name (the earliest
    span's where no root arrived), when it started, how long it took from its first
    span's start to its last span's end, the first model among its spans, how many
    spans, whether any failed, and the tokens of its spans added up."""

    trace_id: str
    name: str
    start: datetime
    duration_ms: float
    model_id: str | None
    span_count: int
    error: bool
    input_tokens: int | None
    output_tokens: int | None
    session_id: str | None = None
