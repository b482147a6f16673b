"""InfluxDB line protocol: ``POST /write`` (the 1.x API) and ``POST /api/v2/write``.

What InfluxDB clients and Telegraf expect: 204 once the points are stored; a body
with malformed lines is 400 naming each of them (line number and why) while its
well-formed lines are stored, as InfluxDB's partial write does; the error bodies
are InfluxDB's, ``{"error": "..."}`` for 1.x and ``{"code": "invalid", "message":
"..."}`` for 2.x. The database, retention policy, bucket and org parameters are
accepted and not used: samples go to the store of the caller's key. Any
Content-Type is taken, as InfluxDB takes it; ``Content-Encoding: gzip`` too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from monitorx.core import MonitorXError, PayloadTooLarge, UnsupportedMediaType
from monitorx.ingest.content_encoding import open_body
from monitorx.ingest.line_protocol import DecodedLines, LineError, decode_lines
from monitorx.server.deps import ClockDep, IngestDep, SettingsDep
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.protocol_bodies import decode_off_loop, now_us

router = APIRouter(tags=["influxdb line protocol"])

V1_PRECISIONS = ("n", "ns", "u", "us", "µ", "ms", "s", "m", "h")
V2_PRECISIONS = ("ns", "us", "ms", "s")
# Malformed lines named in one answer; past these only their number is given.
_LINES_NAMED = 100

_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "Lines of InfluxDB line protocol; Content-Encoding gzip or none.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def _answers(shape: str) -> dict[int | str, dict[str, object]]:
    return {
        204: {"description": "every line stored"},
        400: {"description": f"malformed lines, named ({shape}); the other lines are stored"},
        413: {"description": "body too large, as sent or decompressed"},
        415: {"description": "a Content-Encoding other than gzip"},
    }


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _lines_message(errors: list[LineError], total_lines: int) -> str:
    named = "\n".join(str(e) for e in errors[:_LINES_NAMED])
    more = len(errors) - _LINES_NAMED
    tail = f"\nand {more} more malformed lines" if more > 0 else ""
    head = f"partial write: {len(errors)} of {total_lines} lines refused; the others were stored"
    return f"{head}:\n{named}{tail}"


async def _write(
    request: Request, ingest: IngestDep, clock: ClockDep, settings: SettingsDep, precision: str
) -> str | None:
    """Store the body's well-formed lines; the error message when any was refused."""
    raw = await request.body()
    now = now_us(clock)

    def decode() -> DecodedLines:
        body = open_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        try:
            text = body.decode()
        except UnicodeDecodeError as exc:
            raise _Refused(400, f"body is not UTF-8 text: {exc}") from None
        return decode_lines(text, now, precision)

    try:
        decoded = await decode_off_loop(len(raw), decode)
    except PayloadTooLarge as exc:
        raise _Refused(413, str(exc)) from None
    except UnsupportedMediaType as exc:
        raise _Refused(415, str(exc)) from None
    except MonitorXError as exc:
        raise _Refused(400, str(exc)) from None
    written = await ingest.write_samples(decoded.samples)
    errors = list(decoded.errors)
    if written.refused:
        by_line: dict[int, str] = {}
        for row, reason in written.refused:
            by_line.setdefault(decoded.line_of_row[row], reason)
        errors.extend(LineError(line, "", reason) for line, reason in by_line.items())
        errors.sort(key=lambda e: e.line)
    if not errors:
        return None
    return _lines_message(errors, decoded.points + len(decoded.errors))


@router.post(
    "/write",
    status_code=204,
    response_class=Response,
    responses=_answers('{"error": "..."}'),
    openapi_extra=_REQUEST_BODY,
)
async def write_v1(
    request: Request,
    ingest: IngestDep,
    clock: ClockDep,
    settings: SettingsDep,
    db: Annotated[str | None, Query(description="accepted, not used")] = None,
    rp: Annotated[str | None, Query(description="accepted, not used")] = None,
    precision: Annotated[str, Query(description="n (default), u, ms, s, m or h")] = "n",
) -> Response:
    """Store line protocol, as InfluxDB 1.x's write endpoint (docs/influx-line-protocol.md)."""
    del db, rp
    if precision not in V1_PRECISIONS:
        return JSONResponse({"error": f"invalid precision {precision!r}"}, status_code=400)
    try:
        message = await _write(request, ingest, clock, settings, precision)
    except _Refused as refused:
        return JSONResponse({"error": str(refused)}, status_code=refused.status)
    if message:
        return JSONResponse({"error": message}, status_code=400)
    return Response(status_code=204)


_V2_CODES = {400: "invalid", 413: "request too large", 415: "unsupported media type"}


@router.post(
    "/api/v2/write",
    status_code=204,
    response_class=Response,
    responses=_answers('{"code": "invalid", "message": "..."}'),
    openapi_extra=_REQUEST_BODY,
)
async def write_v2(
    request: Request,
    ingest: IngestDep,
    clock: ClockDep,
    settings: SettingsDep,
    bucket: Annotated[str | None, Query(description="accepted, not used")] = None,
    org: Annotated[str | None, Query(description="accepted, not used")] = None,
    precision: Annotated[str, Query(description="ns (default), us, ms or s")] = "ns",
) -> Response:
    """Store line protocol, as InfluxDB 2.x's write endpoint (docs/influx-line-protocol.md)."""
    del bucket, org
    if precision not in V2_PRECISIONS:
        invalid = f"invalid precision {precision!r}; use ns, us, ms or s"
        return JSONResponse({"code": "invalid", "message": invalid}, status_code=400)
    try:
        message = await _write(request, ingest, clock, settings, precision)
    except _Refused as refused:
        body = {"code": _V2_CODES[refused.status], "message": str(refused)}
        return JSONResponse(body, status_code=refused.status)
    if message:
        return JSONResponse({"code": "invalid", "message": message}, status_code=400)
    return Response(status_code=204)
