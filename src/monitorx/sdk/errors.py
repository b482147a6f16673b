"""The exceptions the SDK raises, and the one place that translates HTTP into them.

Every exception is a :class:`~monitorx.core.errors.MonitorXError`; the SDK reuses the
core tree and adds only what is about talking to a server::

    MonitorXError
    ├── ValidationError        the server refused the input (HTTP 422); names the fields
    │   └── PayloadTooLarge    a body past the server's limit (HTTP 413)
    ├── MalformedPayload       the server could not parse the body (HTTP 400)
    ├── UnsupportedMediaType   HTTP 415
    ├── NotFound               an unknown model or alert (HTTP 404)
    ├── Conflict               HTTP 409
    ├── Unauthorized           a missing or wrong API key (HTTP 401)
    ├── Forbidden              a key without the right (HTTP 403)
    ├── DeliveryError          the request did not get through (connection refused, timeout)
    │   ├── ServerError        the server answered 429 or 5xx, after the retries
    │   └── CircuitOpenError   not even tried: the circuit breaker is open
    └── MissingDependency      an optional package is not installed (also an ImportError)

httpx's exceptions never reach the caller: they are mapped here and chained as
``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "CircuitOpenError",
    "MissingDependency",
    "error_from_response",
    "error_from_transport",
    "error_message",
    "is_transient",
]

import json
from typing import Any

import httpx

from monitorx.core.errors import (
    Conflict,
    DeliveryError,
    FieldError,
    Forbidden,
    MalformedPayload,
    MonitorXError,
    NotFound,
    PayloadTooLarge,
    ServerError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)

# Longest piece of a non-JSON error body quoted in a message.
_BODY_EXCERPT_CHARS = 200


class CircuitOpenError(DeliveryError):
    """The circuit breaker is open: the call failed fast without touching the network.

    ``retry_in_s`` says how long until the breaker lets a trial request through.
    """

    def __init__(self, message: str, retry_in_s: float) -> None:
        self.retry_in_s = retry_in_s
        super().__init__(message)


class MissingDependency(MonitorXError, ImportError):
    """An optional package that a call needs is not installed; the message says how
    to install it (``pip install "monitorx[data]"`` for the drift data calls)."""


_SIMPLE_ERRORS: dict[int, type[MonitorXError]] = {
    400: MalformedPayload,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    415: UnsupportedMediaType,
}


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _field_errors(body: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        for item in body["errors"]:
            if isinstance(item, dict):
                errors.append(FieldError(str(item.get("field", "")), str(item.get("message", ""))))
    return errors


def error_message(response: httpx.Response) -> str:
    """The server's own words: the body's ``detail`` when present, else the body text."""
    body = _json_body(response)
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    text = response.text.strip()
    if text:
        return text[:_BODY_EXCERPT_CHARS]
    return response.reason_phrase or f"HTTP {response.status_code}"


def error_from_response(response: httpx.Response) -> MonitorXError:
    """The exception for an error answer (status ≥ 400), carrying the server's message."""
    status = response.status_code
    message = error_message(response)
    if status in (413, 422):
        errors = _field_errors(_json_body(response)) or [FieldError("", message)]
        kind = PayloadTooLarge if status == 413 else ValidationError
        return kind(errors)
    simple = _SIMPLE_ERRORS.get(status)
    if simple is not None:
        return simple(message)
    method = response.request.method
    path = response.request.url.path
    return ServerError(f"{method} {path} → {status}: {message}", status, response.text)


def error_from_transport(exc: httpx.RequestError, attempts: int) -> DeliveryError:
    """A :class:`DeliveryError` that says what failed and how often it was tried."""
    try:
        request = exc.request
        where = f"{request.method} {request.url}"
    except RuntimeError:  # httpx raises when the error was made without a request
        where = "request"
    tries = "once" if attempts == 1 else f"{attempts} times"
    reason = str(exc) or type(exc).__name__
    return DeliveryError(f"{where} failed ({tries}): {type(exc).__name__}: {reason}")


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same request later may succeed: the server was unreachable,
    overloaded (429), failing (5xx), or the breaker is open. A 4xx never is."""
    if isinstance(exc, ServerError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, DeliveryError)
