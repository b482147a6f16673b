"""OpenTelemetry OTLP/HTTP: ``POST /v1/metrics`` and ``POST /v1/traces`` at the
server root.

As the OTLP specification has it: the body is an ``ExportMetricsServiceRequest``
in binary protobuf (``application/x-protobuf``) or JSON (``application/json``),
gzip-compressed or not; the answer is 200 with an ``ExportMetricsServiceResponse``
in the request's content type, whose ``partial_success`` counts the data points
that were rejected and says why (the client must not retry them). A body that does
not parse is 400 and one past the size limit 413, each with a ``google.rpc.Status``
in the request's content type; another content type is 415.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from monitorx.core import MonitorXError
from monitorx.ingest.content_encoding import open_body
from monitorx.ingest.otlp_export import store_export
from monitorx.ingest.otlp_metrics import DecodedMetrics, decode_metrics, parse_metrics_request
from monitorx.ingest.otlp_traces import DecodedSpans
from monitorx.server.deps import ClockDep, IngestDep, SettingsDep, TracesDep
from monitorx.server.routes.otlp_answers import (
    JSON,
    PROTOBUF,
    answers,
    encode,
    refusal,
    request_body,
    unsupported,
)
from monitorx.server.routes.protocol_bodies import decode_off_loop, media_type, now_us

router = APIRouter(tags=["opentelemetry"])

_REQUEST_BODY = request_body("ExportMetricsServiceRequest")
_ANSWERS = answers("ExportMetricsServiceResponse", "data points")
_TRACES_BODY = request_body("ExportTraceServiceRequest")
_TRACES_ANSWERS = answers("ExportTraceServiceResponse", "spans")


@router.post(
    "/v1/metrics",
    status_code=200,
    response_class=Response,
    responses=_ANSWERS,
    openapi_extra=_REQUEST_BODY,
)
async def export_metrics(
    request: Request, ingest: IngestDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Store the data points of an OTLP metrics export (docs/opentelemetry.md)."""
    media = media_type(request)
    if media not in (PROTOBUF, JSON):
        return unsupported(media)
    as_json = media == JSON
    raw = await request.body()
    now = now_us(clock)

    def decode() -> DecodedMetrics:
        body = open_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        return decode_metrics(parse_metrics_request(body, as_json), now)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except MonitorXError as exc:
        return refusal(exc, as_json)
    return encode(await store_export(ingest, decoded), as_json, 200)


@router.post(
    "/v1/traces",
    status_code=200,
    response_class=Response,
    responses=_TRACES_ANSWERS,
    openapi_extra=_TRACES_BODY,
)
async def export_traces(request: Request, traces: TracesDep, settings: SettingsDep) -> Response:
    """Store the spans of an OTLP traces export, and the inference metrics of its
    model calls (docs/traces.md)."""
    media = media_type(request)
    if media not in (PROTOBUF, JSON):
        return unsupported(media)
    as_json = media == JSON
    raw = await request.body()

    def decode() -> DecodedSpans:
        body = open_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        return traces.decode(body, as_json)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except MonitorXError as exc:
        return refusal(exc, as_json)
    return encode(await traces.store(decoded), as_json, 200)
