"""`/api/v1/events` and `/api/v1/logs`: what happened around the metrics
(docs/events-and-logs.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from monitorx.core import ValidationError
from monitorx.core.events import EventQuery, LogQuery, LogSeverity
from monitorx.ingest.events_logs import parse_events, parse_logs, parse_trace_id
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import ClockDep, IngestDep, SettingsDep, StorageDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.params import parse_limit, parse_time_param

router = APIRouter(tags=["events and logs"])

_ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
_EVENT_IN: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "maxLength": 128},
        "timestamp": {"type": ["string", "number"], "description": "RFC 3339 or epoch s"},
        "time_end": {"type": ["string", "number"], "description": "RFC 3339 or epoch s"},
        "event_type": {"type": "string", "maxLength": 128},
        "model_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
        "severity": {"enum": [s.value for s in LogSeverity]},
        "source": {"type": "string", "maxLength": 128},
        "message": {"type": "string"},
        "attributes": _ANY_OBJECT,
        "trace_id": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "text": {"type": "string", "description": "Grafana's name for message"},
        "time": {"type": "integer", "description": "Grafana's: epoch ms"},
        "timeEnd": {"type": "integer", "description": "Grafana's: epoch ms"},
    },
}
_LOG_IN: dict[str, Any] = {
    "type": "object",
    "required": ["severity", "message"],
    "properties": {
        "timestamp": {"type": ["string", "number"], "description": "RFC 3339 or epoch s"},
        "model_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
        "severity": {"enum": [s.value for s in LogSeverity]},
        "message": {"type": "string"},
        "attributes": _ANY_OBJECT,
        "trace_id": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
        "span_id": {"type": "string", "pattern": "^[0-9a-fA-F]{16}$"},
    },
}


def _array_body(item: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "array", "items": item, "minItems": 1, "maxItems": 10_000}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class Accepted(BaseModel):
    accepted: int


class EventOut(BaseModel):
    id: str
    timestamp: str
    time_end: str | None
    event_type: str
    model_id: str | None
    severity: str
    source: str | None
    message: str
    attributes: dict[str, Any]
    trace_id: str | None
    tags: list[str]
    time: int
    timeEnd: int | None
    text: str


class LogOut(BaseModel):
    id: str
    timestamp: str
    model_id: str | None
    severity: str
    message: str
    attributes: dict[str, Any]
    trace_id: str | None
    span_id: str | None


def _time(value: str | None, name: str) -> Any:
    return None if value is None else parse_time_param(value, name)


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    responses=ERROR_RESPONSES,
    openapi_extra=_array_body(_EVENT_IN),
)
async def post_events(
    request: Request,
    storage: StorageDep,
    clock: ClockDep,
    ingest: IngestDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Store events (deploys, config changes, incidents): a JSON array of up to
    10,000, or one; all or none. Grafana's annotation fields are taken too
    (``text``, ``tags``, ``time``/``timeEnd`` in epoch ms)."""
    body = await read_checked_json(request)
    events = parse_events(body, settings.max_batch_items, clock.now(), ingest.masker)
    await storage.write_events(events)
    return JSONResponse({"accepted": len(events)}, status_code=202)


@router.get("/events", response_model=list[EventOut], responses=ERROR_RESPONSES)
async def list_events(
    storage: StorageDep,
    model_id: Annotated[str | None, Query(max_length=128)] = None,
    event_type: Annotated[str | None, Query(max_length=128)] = None,
    source: Annotated[str | None, Query(max_length=128)] = None,
    start: Annotated[str | None, Query(description="inclusive; RFC 3339 or epoch s")] = None,
    end: Annotated[str | None, Query(description="exclusive")] = None,
    limit: Annotated[int | None, Query(description="1–10,000; default 100")] = None,
) -> JSONResponse:
    """Events, newest first; a region (``time_end``) is listed while it overlaps
    ``[start, end)``."""
    query = EventQuery(
        limit=parse_limit(limit),
        model_id=model_id,
        event_type=event_type,
        source=source,
        start=_time(start, "start"),
        end=_time(end, "end"),
    )
    return JSONResponse([e.to_json() for e in await storage.list_events(query)])


@router.post(
    "/logs",
    status_code=202,
    response_model=Accepted,
    responses=ERROR_RESPONSES,
    openapi_extra=_array_body(_LOG_IN),
)
async def post_logs(
    request: Request,
    storage: StorageDep,
    clock: ClockDep,
    ingest: IngestDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Store log lines: a JSON array of up to 10,000, or one; all or none."""
    body = await read_checked_json(request)
    logs = parse_logs(body, settings.max_batch_items, clock.now(), ingest.masker)
    await storage.write_logs(logs)
    return JSONResponse({"accepted": len(logs)}, status_code=202)


@router.get("/logs", response_model=list[LogOut], responses=ERROR_RESPONSES)
async def list_logs(
    storage: StorageDep,
    model_id: Annotated[str | None, Query(max_length=128)] = None,
    severity: Annotated[
        str | None, Query(description="debug, info, warning, error, critical: that and up")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=1000, description="words that must all be in the message")
    ] = None,
    trace_id: Annotated[str | None, Query(description="32 hex digits")] = None,
    start: Annotated[str | None, Query(description="inclusive; RFC 3339 or epoch s")] = None,
    end: Annotated[str | None, Query(description="exclusive")] = None,
    limit: Annotated[int | None, Query(description="1–10,000; default 100")] = None,
) -> JSONResponse:
    """Logs, newest first: of a model, of a severity and up, holding every word
    of ``q`` (any case), of a trace, in ``[start, end)``."""
    level = None
    if severity is not None:
        level = LogSeverity.parse(severity)
        if level is None:
            raise ValidationError(
                "must be one of debug, info, warning, error, critical", "severity"
            )
    query = LogQuery(
        limit=parse_limit(limit),
        model_id=model_id,
        severity=level,
        text=q,
        trace_id=parse_trace_id(trace_id, "trace_id"),
        start=_time(start, "start"),
        end=_time(end, "end"),
    )
    return JSONResponse([e.to_json() for e in await storage.search_logs(query)])
