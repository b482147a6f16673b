"""`/api/v1/traces`: the traces sent through OTLP, listed and one by one
(API.md "Events, logs and traces"; docs/traces.md)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from monitorx.core import NotFound, ValidationError
from monitorx.core.traces import StoredSpan, TraceSummary
from monitorx.server.deps import ClockDep, StorageDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.params import parse_limit, parse_range
from monitorx.store import TraceQuery

# A trace is not longer than a century: past it a duration is a mistake (and past
# Python's timedelta, 10^9 days, no longer a number the store can compare with).
MAX_DURATION_MS = 100 * 365.25 * 86_400_000

router = APIRouter(prefix="/traces", tags=["traces"])

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")


class TraceOut(BaseModel):
    """One trace of the list, summed up from its spans."""

    trace_id: str = Field(description="32 lowercase hex characters")
    name: str = Field(description="the root span's name (another span's while no root arrived)")
    start: str = Field(description="its first span's start, RFC 3339, UTC")
    duration_ms: float = Field(description="from its first span's start to its last span's end")
    model_id: str | None = Field(description="a model its spans called, if any")
    span_count: int
    error: bool = Field(description="whether a span's status is error")
    input_tokens: int | None
    output_tokens: int | None
    session_id: str | None = Field(
        description="extension: its spans' `gen_ai.conversation.id` or `session.id`"
    )


class SpanOut(BaseModel):
    """One span, with what a waterfall needs: its parent, start and end."""

    span_id: str = Field(description="16 lowercase hex characters")
    parent_span_id: str | None = Field(description="null for a root span")
    name: str
    kind: Literal["unspecified", "internal", "server", "client", "producer", "consumer"]
    start: str
    end: str
    duration_ms: float
    attributes: dict[str, Any]
    status: dict[str, Any] = Field(description='`{"code": "unset" | "ok" | "error", "message"}`')
    events: list[dict[str, Any]] = Field(description="`{name, time, attributes}` each")
    resource: dict[str, Any] = Field(description="extension: its resource's attributes")
    model_id: str | None = Field(description="extension: the model it called")
    session_id: str | None
    input_tokens: int | None
    output_tokens: int | None


class TraceDetailOut(BaseModel):
    trace_id: str
    spans: list[SpanOut] = Field(description="earliest start first")


def _trace_json(trace: TraceSummary) -> dict[str, object]:
    return {
        "trace_id": trace.trace_id,
        "name": trace.name,
        "start": trace.start.isoformat(),
        "duration_ms": trace.duration_ms,
        "model_id": trace.model_id,
        "span_count": trace.span_count,
        "error": trace.error,
        "input_tokens": trace.input_tokens,
        "output_tokens": trace.output_tokens,
        "session_id": trace.session_id,
    }


def _span_json(span: StoredSpan) -> dict[str, object]:
    return {
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "unspecified",
        "start": span.start.isoformat(),
        "end": span.end.isoformat(),
        "duration_ms": span.duration_ms,
        "attributes": span.attributes,
        "status": {"code": span.status, "message": span.status_message},
        "events": span.events,
        "resource": span.resource,
        "model_id": span.model_id,
        "session_id": span.session_id,
        "input_tokens": span.input_tokens,
        "output_tokens": span.output_tokens,
    }


@router.get("", response_model=list[TraceOut], responses=ERROR_RESPONSES)
async def list_traces(
    storage: StorageDep,
    clock: ClockDep,
    model_id: Annotated[str | None, Query(max_length=128)] = None,
    session_id: Annotated[str | None, Query(max_length=1024)] = None,
    start: str | None = None,
    end: str | None = None,
    min_duration_ms: Annotated[
        float | None, Query(ge=0, le=MAX_DURATION_MS, allow_inf_nan=False)
    ] = None,
    error: bool | None = None,
    limit: int | None = None,
) -> JSONResponse:
    """Traces with a span starting in ``[start, end)`` (default: the last hour), newest
    first; ``model_id``/``session_id``: a span of the trace has it; ``error``: whether
    one of its spans failed; ``min_duration_ms``: it took at least that long."""
    window = parse_range(start, end, clock.now())
    query = TraceQuery(
        window.start,
        window.end,
        limit=parse_limit(limit),
        model_id=model_id,
        session_id=session_id,
        error=error,
        min_duration_ms=min_duration_ms,
    )
    return JSONResponse([_trace_json(t) for t in await storage.list_traces(query)])


@router.get("/{trace_id}", response_model=TraceDetailOut, responses=ERROR_RESPONSES)
async def get_trace(
    storage: StorageDep, trace_id: Annotated[str, Path(max_length=64)]
) -> JSONResponse:
    """One trace's spans, earliest first, each with its parent: its tree."""
    if not _TRACE_ID.fullmatch(trace_id):
        raise ValidationError("must be 32 hex characters", "trace_id")
    spans = await storage.get_trace(trace_id.lower())
    if not spans:
        raise NotFound(f"no trace {trace_id.lower()}")
    return JSONResponse({"trace_id": trace_id.lower(), "spans": [_span_json(s) for s in spans]})
