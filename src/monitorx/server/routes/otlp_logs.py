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
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from starlette.responses import Response

from monitorx.core import MonitorXError
from monitorx.ingest.content_encoding import open_body
from monitorx.ingest.otlp_logs import DecodedLogs, decode_logs, parse_logs_request
from monitorx.server.deps import ClockDep, IngestDep, SettingsDep, StorageDep
from monitorx.server.routes.otlp_answers import (
    JSON,
    PROTOBUF,
    answers,
    encode,
    refusal,
    request_body,
    unsupported,
)
from monitorx.server.routes.protocol_bodies import decode_off_loop, media_type

router = APIRouter(tags=["opentelemetry"])

_REQUEST_BODY = request_body("ExportLogsServiceRequest")
_ANSWERS = answers("ExportLogsServiceResponse", "log records")


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
        return unsupported(media)
    as_json = media == JSON
    raw = await request.body()
    now = clock.now()

    def decode() -> DecodedLogs:
        body = open_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        return decode_logs(parse_logs_request(body, as_json), now, ingest.masker)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except MonitorXError as exc:
        return refusal(exc, as_json)
    await storage.write_logs(decoded.entries)
    answer = ExportLogsServiceResponse()
    if decoded.rejected:
        answer.partial_success.rejected_log_records = decoded.rejected
        answer.partial_success.error_message = "; ".join(decoded.reasons)
    return encode(answer, as_json, 200)
