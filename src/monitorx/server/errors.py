"""The one place that maps MonitorX errors to HTTP status codes and error bodies.

Every error body has the same shape::

    {"error": "validation_error", "detail": "latency: must be >= 0",
     "errors": [{"field": "latency", "message": "must be >= 0"}]}
"""

from __future__ import annotations

__all__ = ["error_response", "install_error_handlers", "problem"]

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitorx.core import (
    Conflict,
    FieldError,
    Forbidden,
    MalformedPayload,
    MonitorXError,
    NotFound,
    PayloadTooLarge,
    StorageError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from monitorx.core.errors import BadHeader, StorageUnavailable
from monitorx.core.text import printable
from monitorx.server.responses import JSONResponse

logger = logging.getLogger("monitorx.server")

# Most specific first: PayloadTooLarge is a ValidationError.
_STATUS: list[tuple[type[MonitorXError], int, str]] = [
    (PayloadTooLarge, 413, "payload_too_large"),
    (BadHeader, 400, "bad_header"),
    (ValidationError, 422, "validation_error"),
    (MalformedPayload, 400, "malformed_json"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (StorageError, 503, "storage_unavailable"),
]
# The Retry-After of a 503 for a store that cannot be reached now (a restart, a
# failover): the SDK and well-behaved clients wait this long, then send again.
STORAGE_RETRY_AFTER_S = 2


def problem(
    status: int, code: str, detail: str, errors: list[FieldError] | None = None, **extra: Any
) -> JSONResponse:
    # A message may quote what the client sent: its control characters and lone
    # surrogates are written as escapes, so that the body is valid JSON and UTF-8.
    body: dict[str, Any] = {"error": code, "detail": printable(detail)}
    if errors:
        body["errors"] = [
            {"field": printable(e.field), "message": printable(e.message)} for e in errors
        ]
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    # FastAPI locations start with where the value came from: body, query, path.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path") else loc
    return ".".join(str(p) for p in parts) or str(loc[0] if loc else "body")


def error_response(exc: MonitorXError, where: str = "") -> JSONResponse:
    """The status and body for one of our errors."""
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            if status >= 500:
                logger.error("%s failed: %s", where, exc)
            errors = exc.errors if isinstance(exc, ValidationError) else None
            response = problem(status, code, str(exc), errors)
            if isinstance(exc, StorageUnavailable):
                response.headers["Retry-After"] = str(STORAGE_RETRY_AFTER_S)
            return response
    logger.error("unexpected MonitorX error on %s", where, exc_info=exc)
    return problem(500, "internal_error", "internal error")


async def _on_monitorx_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MonitorXError)
    return error_response(exc, f"{request.method} {request.url.path}")


async def _on_request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        # The offending input is left out on purpose: it may not even be valid JSON (NaN).
        errors.append(FieldError(_field_of(tuple(err.get("loc", ()))), str(err.get("msg", ""))))
    detail = "; ".join(str(e) for e in errors) or "invalid request"
    return problem(422, "validation_error", detail, errors)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = problem(exc.status_code, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal_error", "internal error; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MonitorXError, _on_monitorx_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
