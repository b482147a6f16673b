"""Request guards that run before routing: body size (413), JSON content type (415),
and the URL's text and a JSON body's nesting depth (422, `monitorx.server.input_guards`)."""

from __future__ import annotations

__all__ = ["RequestLimits"]

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitorx.core import PayloadTooLarge
from monitorx.server.errors import error_response, problem
from monitorx.server.input_guards import guard_json_depth, url_text_error

_BULK_SUFFIXES = ("/reference", "/records", "/drift/analyze")
_WRITE_METHODS = {"POST", "PUT", "PATCH"}
# A reference set may also be uploaded as a CSV, Parquet or Arrow IPC stream, and
# records as Parquet or Arrow (API.md).
_TABLES = {"application/vnd.apache.parquet", "application/octet-stream",
           "application/vnd.apache.arrow.stream"}  # fmt: skip
_REFERENCE_UPLOADS = _TABLES | {"text/csv", "application/csv"}


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media = _media(content_type)
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestLimits:
    """Refuse URLs holding control characters, bodies over the limit (also when
    streamed without Content-Length), writes whose Content-Type is not JSON, and
    JSON nested too deep to parse. On ``own_media_paths`` — the standard ways in
    (OTLP, line protocol, remote_write), which take their protocols' own content
    types and answer a wrong one themselves, in their protocol's shape — only the
    size is checked."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_bulk_body_bytes: int,
        own_media_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_bulk = max_bulk_body_bytes
        self.own_media_paths = own_media_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad_url = url_text_error(scope)
        if bad_url is not None:
            await error_response(bad_url)(scope, receive, send)
            return
        if scope["method"] not in _WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.max_bulk if path.endswith(_BULK_SUFFIXES) else self.max_body
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await problem(413, "payload_too_large", f"body is over the {limit:,}-byte limit")(
                scope, receive, send
            )
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if (
            content_type
            and path not in self.own_media_paths
            and not _is_json(content_type)
            and length != b"0"
            and not (path.endswith("/reference") and _media(content_type) in _REFERENCE_UPLOADS)
            and not (path.endswith("/records") and _media(content_type) in _TABLES)
        ):
            await problem(
                415,
                "unsupported_media_type",
                f"Content-Type {content_type!r} is not supported; send application/json",
            )(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Mapped to 413 by the error handlers, like every MonitorXError.
                    raise PayloadTooLarge(f"body is over the {limit:,}-byte limit", "body")
            return message

        json_body = _is_json(content_type) or (
            content_type == "" and path not in self.own_media_paths
        )
        if length == b"0" or not json_body:
            await self.app(scope, limited_receive, send)
        else:
            await guard_json_depth(self.app, scope, limited_receive, send)
