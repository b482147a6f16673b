"""`/api/v1/ws`: live accepted metrics and alert changes over a WebSocket.

Messages are those of `monitorx.server.live` (``metrics`` per model per committed
batch, ``alert`` per alert transition). Which models: ``?model_id=a&model_id=b``
on the URL, or at any time a message ``{"type": "subscribe", "models": ["a", "b"]}``
(an empty or absent list follows every model). The server answers a subscribe
with ``{"type": "subscribed", "models": [...] | null}``.

Auth is the REST API's: with auth on, the handshake carries ``X-API-Key`` or
``Authorization: Bearer`` (non-browser clients), or the first message is
``{"type": "auth", "api_key": "..."}`` / ``{"type": "auth", "token": "..."}``
(browsers, which cannot set handshake headers). Without valid credentials in time
the socket closes with code 1008 (policy violation) and the reason; the read role is
enough. A credential in the URL (``?api_key=``, ``?token=`` or any credential-shaped
parameter) is refused the same way, with auth on or off: URLs end up in access logs,
proxies' included, and the server's own log redacts them only after the fact.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection

from monitorx.core import MonitorXError, Unauthorized
from monitorx.core.access import Permission
from monitorx.server.auth import Authenticator, Principal
from monitorx.server.deps import services_of
from monitorx.server.live import Subscription, send_message
from monitorx.server.log_redaction import is_credential_name
from monitorx.server.permissions import permission_of
from monitorx.server.projects import PROJECT_HEADER, ProjectDirectory

router = APIRouter(tags=["live"])

# How long a client with auth on may take to send its auth message.
AUTH_TIMEOUT_S = 10.0
_POLICY_VIOLATION = 1008
# The close reason (at most 123 bytes) for a credential in the URL.
URL_CREDENTIAL_REFUSED = (
    'credentials in the URL are refused: send {"type": "auth", "api_key": ...} first'
)


def _credentials_connection(api_key: str | None, token: str | None) -> HTTPConnection:
    """A stand-in connection carrying URL or message credentials as the headers
    the REST API reads, so both are checked by the same `Authenticator`."""
    headers: list[tuple[bytes, bytes]] = []
    if api_key:
        headers.append((b"x-api-key", api_key.encode()))
    if token:
        headers.append((b"authorization", b"Bearer " + token.encode()))
    return HTTPConnection({"type": "http", "headers": headers})


def _project_headers(websocket: WebSocket) -> dict[str, str]:
    """The handshake's headers, with a ``project`` query parameter as the project
    header (only read with auth off: `project_of`)."""
    headers = dict(websocket.headers)
    named = websocket.query_params.get("project")
    if named is not None:
        headers[PROJECT_HEADER.lower()] = named
    return headers


def _check(auth: Authenticator, conn: HTTPConnection) -> Principal:
    principal = auth.authenticate(conn)
    auth.require(principal, permission_of("live_updates") or Permission.ADMIN)
    return principal


async def _authenticate(websocket: WebSocket, auth: Authenticator) -> Principal:
    """Headers, then a first ``auth`` message; raises MonitorXError. A credential
    in the URL is refused before anything else."""
    if any(is_credential_name(name) for name in websocket.query_params):
        raise Unauthorized(URL_CREDENTIAL_REFUSED)
    if not auth.enabled or "x-api-key" in websocket.headers:
        return _check(auth, websocket)
    if websocket.headers.get("authorization"):
        return _check(auth, websocket)
    try:
        first = await asyncio.wait_for(_receive(websocket), AUTH_TIMEOUT_S)
    except TimeoutError:
        first = "{}"
    message = _parse(first)
    if message.get("type") != "auth":
        return _check(auth, _credentials_connection(None, None))
    return _check(
        auth, _credentials_connection(_text(message.get("api_key")), _text(message.get("token")))
    )


async def _receive(websocket: WebSocket) -> str:
    """The next client message as text; a binary frame is read as UTF-8 (bad bytes
    replaced), so no client frame can break the handler."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is not None:
        return str(text)
    return bytes(message.get("bytes") or b"").decode("utf-8", "replace")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parse(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _models(values: object) -> frozenset[str] | None:
    if not isinstance(values, list):
        return None
    models = frozenset(v for v in values if isinstance(v, str))
    return models or None


async def _listen(websocket: WebSocket, subscription: Subscription) -> None:
    """Client messages: subscribe changes the models followed; others are ignored."""
    while True:
        message = _parse(await _receive(websocket))
        if message.get("type") == "subscribe":
            subscription.models = _models(message.get("models"))
            await send_message(
                websocket, {"type": "subscribed", "models": _sorted(subscription.models)}
            )


@router.websocket("/ws")
async def live_updates(websocket: WebSocket) -> None:
    """Stream ``metrics`` and ``alert`` messages until the client goes away."""
    auth = services_of(websocket.app).auth
    projects: ProjectDirectory = websocket.app.state.projects
    await websocket.accept()
    try:
        principal = await _authenticate(websocket, auth)
        # The feed of the caller's project alone (with auth off, the header's, or the
        # ``project`` query parameter's: a browser cannot set a handshake header).
        hub = (await projects.of_principal(principal, _project_headers(websocket))).live
    except MonitorXError as exc:
        await websocket.close(_POLICY_VIOLATION, str(exc)[:120])
        return
    except WebSocketDisconnect:
        return
    subscription = hub.subscribe(_models(websocket.query_params.getlist("model_id")))
    await send_message(websocket, {"type": "subscribed", "models": _sorted(subscription.models)})
    forward = asyncio.create_task(subscription.forward(websocket))
    try:
        await _listen(websocket, subscription)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscription)
        forward.cancel()
        # The forwarder ends by cancellation, or by a send to a socket that closed.
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await forward


def _sorted(models: frozenset[str] | None) -> list[str] | None:
    return None if models is None else sorted(models)
