"""Prometheus remote write 1.0: ``POST /api/v1/prom/write``.

As the remote write specification has it: a snappy-compressed (block format)
protobuf ``WriteRequest``, ``Content-Type: application/x-protobuf``, answered 204
once stored. A body that is not snappy or not a WriteRequest is 400 with a message
(Prometheus does not retry a 4xx); so is a request of which some series were
refused (named, with why), after its other samples are stored. A remote write 2.0
request (``proto=io.prometheus.write.v2.Request``) is 415, as the specification
asks of a receiver that only speaks 1.0.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from monitorx.core import MonitorXError, PayloadTooLarge
from monitorx.ingest.content_encoding import unsnappy
from monitorx.ingest.remote_write import DecodedSeries, decode_write_request
from monitorx.server.deps import ClockDep, IngestDep, SettingsDep
from monitorx.server.routes.protocol_bodies import decode_off_loop, media_type, now_us

router = APIRouter(tags=["prometheus"])

PROTOBUF = "application/x-protobuf"
_V1_MESSAGE = "prometheus.WriteRequest"

_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "A snappy-compressed protobuf WriteRequest (remote write 1.0).",
        "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}},
    }
}
_ANSWERS: dict[int | str, dict[str, object]] = {
    204: {"description": "every sample stored"},
    400: {"description": "not snappy, not a WriteRequest, or series refused (named)"},
    413: {"description": "body too large, as sent or decompressed"},
    415: {"description": "not application/x-protobuf, or remote write 2.0"},
}


def _unsupported(request: Request) -> str | None:
    """Why the request's Content-Type and Content-Encoding are not remote write 1.0."""
    content_type = request.headers.get("content-type", "")
    if media_type(request) != PROTOBUF:
        return f"Content-Type {content_type!r} is not supported; send {PROTOBUF}"
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "proto" and value.strip() != _V1_MESSAGE:
            return f"only remote write 1.0 ({_V1_MESSAGE}) is supported, not {value.strip()}"
    encoding = request.headers.get("content-encoding", "snappy").strip().lower()
    if encoding != "snappy":
        return f"Content-Encoding {encoding!r} is not supported; remote write bodies are snappy"
    return None


@router.post(
    "/prom/write",
    status_code=204,
    response_class=Response,
    responses=_ANSWERS,
    openapi_extra=_REQUEST_BODY,
)
async def remote_write(
    request: Request, ingest: IngestDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Store the samples of a Prometheus remote write request (docs/prometheus.md)."""
    unsupported = _unsupported(request)
    if unsupported:
        return PlainTextResponse(unsupported, status_code=415)
    raw = await request.body()
    now = now_us(clock)

    def decode() -> DecodedSeries:
        return decode_write_request(unsnappy(raw, settings.max_body_bytes), now)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except PayloadTooLarge as exc:
        return PlainTextResponse(str(exc), status_code=413)
    except MonitorXError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    written = await ingest.write_samples(decoded.samples)
    seen: set[int] = set()
    for row, reason in written.refused:
        series = decoded.series_of_row[row]
        if series not in seen:
            seen.add(series)
            decoded.problems.append(f"{decoded.names[series]}: {reason}")
    if decoded.problems:
        return PlainTextResponse(decoded.message(), status_code=400)
    return Response(status_code=204)
