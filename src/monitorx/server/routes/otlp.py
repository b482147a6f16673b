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
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from starlette.responses import Response

from monitorx.core import MonitorXError, PayloadTooLarge
from monitorx.ingest.content_encoding import open_body
from monitorx.ingest.otlp_export import store_export
from monitorx.ingest.otlp_metrics import DecodedMetrics, decode_metrics, parse_metrics_request
from monitorx.ingest.otlp_traces import DecodedSpans
from monitorx.server.deps import ClockDep, IngestDep, SettingsDep, TracesDep
from monitorx.server.routes.protocol_bodies import decode_off_loop, media_type, now_us

router = APIRouter(tags=["opentelemetry"])

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# google.rpc.Code values for the Status of an error answer.
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8

_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "An OTLP ExportMetricsServiceRequest; Content-Encoding gzip or none.",
        "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}, JSON: {}},
    }
}
_ANSWERS: dict[int | str, dict[str, object]] = {
    200: {
        "description": "An ExportMetricsServiceResponse in the request's content type; "
        "partial_success counts the rejected data points",
        "content": {PROTOBUF: {}, JSON: {}},
    },
    400: {"description": "not an OTLP request; a google.rpc.Status says why"},
    413: {"description": "body too large, as sent or decompressed"},
    415: {"description": "neither application/x-protobuf nor application/json"},
}
_TRACES_BODY = {
    "requestBody": {
        "required": True,
        "description": "An OTLP ExportTraceServiceRequest; Content-Encoding gzip or none.",
        "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}, JSON: {}},
    }
}
_TRACES_ANSWERS: dict[int | str, dict[str, object]] = _ANSWERS | {
    200: {
        "description": "An ExportTraceServiceResponse in the request's content type; "
        "partial_success counts the rejected spans",
        "content": {PROTOBUF: {}, JSON: {}},
    },
}


def _unsupported(media: str) -> Response:
    status = Status(
        code=_INVALID_ARGUMENT,
        message=f"Content-Type {media or 'none'!r} is not supported; send {PROTOBUF} or {JSON}",
    )
    return _encode(status, True, 415)


def _encode(message: Message, as_json: bool, status: int) -> Response:
    if as_json:
        text = json_format.MessageToJson(message, indent=None)
        return Response(text, status_code=status, media_type=JSON)
    return Response(message.SerializeToString(), status_code=status, media_type=PROTOBUF)


def _error(exc: MonitorXError, as_json: bool) -> Response:
    too_large = isinstance(exc, PayloadTooLarge)
    code = _RESOURCE_EXHAUSTED if too_large else _INVALID_ARGUMENT
    status = Status(code=code, message=str(exc))
    return _encode(status, as_json, 413 if too_large else 400)


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
        return _unsupported(media)
    as_json = media == JSON
    raw = await request.body()
    now = now_us(clock)

    def decode() -> DecodedMetrics:
        body = open_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        return decode_metrics(parse_metrics_request(body, as_json), now)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except MonitorXError as exc:
        return _error(exc, as_json)
    return _encode(await store_export(ingest, decoded), as_json, 200)


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
        return _unsupported(media)
    as_json = media == JSON
    raw = await request.body()

    def decode() -> DecodedSpans:
        body = open_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        return traces.decode(body, as_json)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except MonitorXError as exc:
        return _error(exc, as_json)
    return _encode(await traces.store(decoded), as_json, 200)
