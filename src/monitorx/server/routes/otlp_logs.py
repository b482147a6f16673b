"""OpenTelemetry OTLP/HTTP: ``POST /v1/logs`` at the server root.

As for ``/v1/metrics`` (routes.otlp): an ``ExportLogsServiceRequest`` in binary
protobuf or JSON, gzip or not; 200 with an ``ExportLogsServiceResponse`` whose
``partial_success`` counts the log records rejected and says why; 400 for a body
that does not parse, 413 past the size limit, 415 for another content type.
Each record becomes a log entry (ingest.otlp_logs), searchable at
``GET /api/v1/logs``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from starlette.responses import Response

from monitorx.core import MonitorXError, PayloadTooLarge
from monitorx.ingest.content_encoding import open_body
from monitorx.ingest.otlp_logs import DecodedLogs, decode_logs, parse_logs_request
from monitorx.server.deps import ClockDep, IngestDep, SettingsDep, StorageDep
from monitorx.server.routes.protocol_bodies import decode_off_loop, media_type

router = APIRouter(tags=["opentelemetry"])

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8

_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "An OTLP ExportLogsServiceRequest; Content-Encoding gzip or none.",
        "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}, JSON: {}},
    }
}
_ANSWERS: dict[int | str, dict[str, object]] = {
    200: {
        "description": "An ExportLogsServiceResponse in the request's content type; "
        "partial_success counts the rejected log records",
        "content": {PROTOBUF: {}, JSON: {}},
    },
    400: {"description": "not an OTLP request; a google.rpc.Status says why"},
    413: {"description": "body too large, as sent or decompressed"},
    415: {"description": "neither application/x-protobuf nor application/json"},
}


def _encode(message: ExportLogsServiceResponse | Status, as_json: bool, status: int) -> Response:
    if as_json:
        text = json_format.MessageToJson(message, indent=None)
        return Response(text, status_code=status, media_type=JSON)
    return Response(message.SerializeToString(), status_code=status, media_type=PROTOBUF)


@router.post(
    "/v1/logs",
    status_code=200,
    response_class=Response,
    responses=_ANSWERS,
    openapi_extra=_REQUEST_BODY,
)
async def export_logs(
    request: Request,
    storage: StorageDep,
    ingest: IngestDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Store the log records of an OTLP logs export (docs/events-and-logs.md)."""
    media = media_type(request)
    if media not in (PROTOBUF, JSON):
        status = Status(
            code=_INVALID_ARGUMENT,
            message=f"Content-Type {media or 'none'!r} is not supported; send {PROTOBUF} or {JSON}",
        )
        return _encode(status, True, 415)
    as_json = media == JSON
    raw = await request.body()
    now = clock.now()

    def decode() -> DecodedLogs:
        body = open_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        return decode_logs(parse_logs_request(body, as_json), now, ingest.masker)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except MonitorXError as exc:
        too_large = isinstance(exc, PayloadTooLarge)
        status = Status(
            code=_RESOURCE_EXHAUSTED if too_large else _INVALID_ARGUMENT, message=str(exc)
        )
        return _encode(status, as_json, 413 if too_large else 400)
    await storage.write_logs(decoded.entries)
    answer = ExportLogsServiceResponse()
    if decoded.rejected:
        answer.partial_success.rejected_log_records = decoded.rejected
        answer.partial_success.error_message = "; ".join(decoded.reasons)
    return _encode(answer, as_json, 200)
