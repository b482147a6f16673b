"""HTTP request latency, by endpoint, method and status class, measured in ASGI.

`RequestMetrics` wraps the whole app (outside the rate limits, the body limits and
the fast ingest path), so every request is timed, including those answered before
routing. Its labels are bounded, whatever clients send:

- ``endpoint`` is the route's template (``/api/v1/models/{model_id}``), never the
  raw path; a request no route matches is ``unmatched``;
- ``method`` is one of the HTTP methods the API uses, else ``other``;
- ``status`` is the class of the status code: ``2xx`` … ``5xx``.

The cost per request is two clock reads, a wrapped ``send`` and one histogram
observation (bench/prometheus_middleware.py measures it). A request FastAPI
routed carries its route in the scope; one the fast ingest path answered carries
`ENDPOINT_KEY`; only requests answered before routing (413, 415, 429, 404) are
matched against the route templates here.
"""

from __future__ import annotations

__all__ = ["ENDPOINT_KEY", "UNMATCHED", "RequestLatency", "RequestMetrics", "RouteTemplates"]

import re
import time
from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitorx.core.histogram import SECONDS_BUCKETS, BucketHistogram

ENDPOINT_KEY = "monitorx.endpoint"
"""The scope key where a layer that answers ahead of routing names its endpoint."""
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

RequestKey = tuple[str, str, str]  # endpoint, method, status class


class RequestLatency:
    """One `BucketHistogram` of request durations in seconds per label set."""

    def __init__(self) -> None:
        self.histograms: dict[RequestKey, BucketHistogram] = {}

    def copy(self) -> dict[RequestKey, BucketHistogram]:
        return {key: histogram.copy() for key, histogram in self.histograms.items()}

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        key = (endpoint, method if method in _METHODS else "other", f"{status // 100}xx")
        histogram = self.histograms.get(key)
        if histogram is None:
            histogram = self.histograms[key] = BucketHistogram(SECONDS_BUCKETS)
        histogram.observe(seconds)


class RouteTemplates:
    """The app's route templates, for the requests that never reached routing."""

    def __init__(self, routes: Iterable[tuple[object, str]]) -> None:
        """``routes``: each route object and its full path template."""
        self._by_route: dict[int, str] = {}
        # Templates without parameters are looked up; only the others are matched.
        self._exact: dict[str, str] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for route, path in routes:
            self._by_route[id(route)] = path
            if "{" in path:
                self._patterns.append((compile_path(path)[0], path))
            else:
                self._exact[path] = path

    @classmethod
    def of_app(cls, app: Starlette) -> RouteTemplates:
        """The templates of every route ``app`` has now (call it once all are added)."""
        try:
            from fastapi.routing import iter_route_contexts
        except ImportError:  # FastAPI before 0.16x copies included routes with full paths
            found = [(route, getattr(route, "path", None)) for route in app.routes]
        else:
            found = [(c.original_route, c.path) for c in iter_route_contexts(app.routes)]
        return cls((route, path) for route, path in found if path)

    def of_route(self, route: object) -> str:
        """The full template of a route FastAPI selected (its own ``path`` lacks the
        prefixes of the routers it was included through)."""
        found = self._by_route.get(id(route))
        return found if found is not None else str(getattr(route, "path", UNMATCHED))

    def match(self, path: str) -> str:
        """The template of the route ``path`` would reach, else `UNMATCHED`."""
        found = self._exact.get(path)
        if found is not None:
            return found
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED


class RequestMetrics:
    """ASGI middleware: time each HTTP request into ``latency``. WebSocket sessions
    and the lifespan pass through untimed."""

    def __init__(self, app: ASGIApp, latency: RequestLatency, templates: RouteTemplates) -> None:
        self.app = app
        self.latency = latency
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # A request that raises before it answers is answered 500 outside this layer.
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            self.latency.observe(self._endpoint(scope), scope["method"], status, elapsed)

    def _endpoint(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return self.templates.of_route(route)
        endpoint: str | None = scope.get(ENDPOINT_KEY)
        if endpoint is not None:
            return endpoint
        return self.templates.match(scope["path"])
