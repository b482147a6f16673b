"""The ingest endpoints, served ahead of the framework.

`POST /api/v1/metrics/inference` is called once per inference by clients that do
not batch; routing it through FastAPI's dependency and middleware layers costs
more than decoding and storing the metric. This ASGI layer answers the two ingest
endpoints directly — with the same authentication, handlers and error bodies as
the routes, which stay declared for the OpenAPI document — and passes every other
request on. Its requests are timed like any other by the request-latency
middleware outside it (server/telemetry).
"""

from __future__ import annotations

__all__ = ["FastIngest"]

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from monitorx.core import MonitorXError
from monitorx.core.access import Permission
from monitorx.ingest.service import IngestService
from monitorx.server.errors import error_response
from monitorx.server.permissions import permission_of
from monitorx.server.projects import ProjectDirectory
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.metrics import accept_batch, accept_metric
from monitorx.server.telemetry import ENDPOINT_KEY

Handler = Callable[[IngestService, bytes], Awaitable[JSONResponse]]


class FastIngest:
    def __init__(self, app: ASGIApp, projects: ProjectDirectory, prefix: str) -> None:
        self.app = app
        self.projects = projects
        # Each path's handler and its route's name in the permission table.
        self.routes: dict[str, tuple[Handler, str]] = {
            f"{prefix}/metrics/inference": (accept_metric, "ingest_metric"),
            f"{prefix}/metrics/inference/batch": (accept_batch, "ingest_batch"),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if found is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        # The request-latency middleware labels the request with this (routing,
        # which would name it, is skipped).
        scope[ENDPOINT_KEY] = scope["path"]
        request = Request(scope, receive)
        try:
            auth = self.projects.default.auth
            principal = auth.authenticate(request)
            handler, name = found
            auth.require(principal, permission_of(name) or Permission.ADMIN)
            services = await self.projects.of_request(request)
            response = await handler(services.ingest, await request.body())
        except MonitorXError as exc:
            response = error_response(exc, f"POST {scope['path']}")
        await response(scope, receive, send)
