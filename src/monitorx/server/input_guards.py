"""Checks every request passes before routing (`RequestLimits` applies them).

- **The URL's text.** A path or query parameter holding a control character
  (``/models/a%00b``, ``?model_id=%1b``) follows the rule of stored text
  (`monitorx.core.text`) like a body's strings: 422 naming ``path`` or the
  parameter. Such a value can name nothing that is stored, and PostgreSQL could
  not even look it up (text cannot hold NUL).
- **A JSON body's nesting.** The body is read whole (the size limit still applies
  while it arrives), measured by `monitorx.ingest.json_depth`, and either refused
  — 422 naming the body, before a decoder could recurse — or passed on to the
  application as one message. Routes, the fast ingest path and FastAPI's own body
  parsing all read it from there, so no JSON body reaches a parser unmeasured.
"""

from __future__ import annotations

__all__ = ["guard_json_depth", "url_text_error"]

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitorx.core import MonitorXError, ValidationError
from monitorx.core.text import printable, text_problem
from monitorx.ingest.json_depth import MAX_JSON_DEPTH, nests_deeper_than
from monitorx.server.errors import error_response


def url_text_error(scope: Scope) -> ValidationError | None:
    """Why the request's path or query may not be served, if it may not."""
    problem = text_problem(scope["path"])
    if problem is not None:
        return ValidationError(problem, "path")
    query: bytes = scope.get("query_string", b"")
    if b"%" not in query:
        return None  # an HTTP request line cannot carry a control character raw
    # Decoded as Starlette decodes it for the routes.
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            return ValidationError(problem, printable(name))
    return None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None when the client left before sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` as one message, then whatever the client sends."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def guard_json_depth(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one JSON write with ``app`` unless its body nests deeper than
    `MAX_JSON_DEPTH`, or breaks a limit ``receive`` enforces (413)."""
    where = f"{scope['method']} {scope['path']}"
    try:
        body = await _read_body(receive)
        if body is None:
            return  # nobody is left to answer
        if nests_deeper_than(body, MAX_JSON_DEPTH):
            raise ValidationError(
                f"the JSON nests arrays and objects more than {MAX_JSON_DEPTH} levels deep",
                "body",
            )
    except MonitorXError as exc:
        await error_response(exc, where)(scope, receive, send)
        return
    await app(scope, _replay(body, receive), send)
