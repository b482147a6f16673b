"""The exceptions MonitorX raises, one tree under one root.

    MonitorXError
    ├── ValidationError      input that breaks the contract (HTTP 422)
    │   ├── PayloadTooLarge  a body or batch past its limit (HTTP 413)
    │   └── BadHeader        a request header that breaks it (HTTP 400)
    ├── MalformedPayload     a body that is not the JSON it claims to be (HTTP 400)
    ├── UnsupportedMediaType a write without a JSON content type (HTTP 415)
    ├── NotFound             an unknown model, alert, … (HTTP 404)
    ├── Conflict             an id that already exists (HTTP 409)
    ├── Unauthorized         missing or bad credentials (HTTP 401)
    ├── Forbidden            a valid identity without the right (HTTP 403)
    ├── StorageError         the store failed; carries the driver error as __cause__
    │   ├── LeaseLost        a lease-guarded write from a holder whose lease ran out
    │   └── StorageUnavailable  the store cannot be reached now; retry later (HTTP 503)
    └── DeliveryError        a request to a remote peer failed (SDK transport, channels)
        └── ServerError      the peer answered with an error status

The server maps these to status codes in one place (``monitorx.server.errors``);
below the server, code raises these and never speaks HTTP.
"""

from __future__ import annotations

__all__ = [
    "BadHeader",
    "Conflict",
    "DeliveryError",
    "FieldError",
    "Forbidden",
    "LeaseLost",
    "MalformedPayload",
    "MonitorXError",
    "NotFound",
    "PayloadTooLarge",
    "ServerError",
    "StorageError",
    "StorageUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationError",
]

from dataclasses import dataclass


class MonitorXError(Exception):
    """Root of every exception MonitorX raises, on the server and in the SDK."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason an input was refused: where (a dotted field path) and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationError(MonitorXError):
    """Input that breaks the contract; names every offending field."""

    def __init__(self, errors: list[FieldError] | str, field: str = "") -> None:
        if isinstance(errors, str):
            errors = [FieldError(field, errors)]
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    def __reduce__(self) -> tuple[type[ValidationError], tuple[list[FieldError]]]:
        # Keep the named fields when the error crosses a process boundary.
        return (type(self), (self.errors,))


class PayloadTooLarge(ValidationError):
    """A body or batch past its configured limit."""


class BadHeader(ValidationError):
    """A request header that breaks the contract (``X-MonitorX-Project``); the
    field named is the header."""


class MalformedPayload(MonitorXError):
    """A body that cannot be parsed as JSON at all."""


class UnsupportedMediaType(MonitorXError):
    """A write whose Content-Type is not JSON."""


class NotFound(MonitorXError):
    """An unknown resource."""


class Conflict(MonitorXError):
    """A resource that already exists."""


class Unauthorized(MonitorXError):
    """Missing or invalid credentials."""


class Forbidden(MonitorXError):
    """A valid identity that lacks the right for this action."""


class StorageError(MonitorXError):
    """The storage backend failed; the driver's exception is the ``__cause__``."""


class LeaseLost(StorageError):
    """A write guarded by a lease came from a holder that no longer holds it (its
    lease ran out and another replica took it): nothing of the write is stored."""


class StorageUnavailable(StorageError):
    """The storage server cannot be reached (down, restarting, the connection cut):
    the same request may well succeed in a few seconds, so clients are told to
    retry rather than that the request is wrong."""


class DeliveryError(MonitorXError):
    """A request to a remote peer failed before an answer came back."""


class ServerError(DeliveryError):
    """A remote peer answered with an error status."""

    def __init__(self, message: str, status_code: int, body: str = "") -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(message)
