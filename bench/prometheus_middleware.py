"""What the request-latency middleware of `GET /metrics` costs per request.

    python bench/prometheus_middleware.py [--requests 20000] [--rounds 40] [--models 100]

Two measurements, both in process on ASGI (no sockets: an HTTP round trip's noise
would drown a few microseconds):

1. The middleware alone, around an app that answers 202 at once, timed per request
   (median and p99, ns) against the bare app: the difference is what it adds. For
   each way it names the endpoint — a route FastAPI chose, the fast ingest path's
   scope key, a request answered before routing (a 413 or 429: looked up among
   the real app's templates without parameters, else matched against those with
   parameters; the worst case is a path no template matches) — and beside
   prometheus_client's labelled ``Histogram`` in the same place (``labels(...)``
   then ``observe``), the usual way to write such a middleware.
2. The whole app (`create_app`, DuckDB in a temp directory, auth off): two apps,
   one without the middleware, driven in ``--rounds`` rounds of ``--requests`` /
   ``--rounds`` requests each (which app goes first alternates), for
   ``POST /api/v1/metrics/inference`` (the fast ingest path, a durable write) and
   ``GET /api/v1/health/live``: each app's median, and the median and quartiles of
   the per-round differences (other load on the machine moves single rounds).
3. A scrape: `Telemetry.exposition()` (what `GET /metrics` answers) of an app
   with per-model series on, after a batch of ``--models`` models and requests
   to 20 endpoints: its size, the median time of 200 scrapes, and of the part
   that runs on the event loop (copying the counters; the text is built in a
   worker thread).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from monitorx.core.histogram import SECONDS_BUCKETS
from monitorx.server.app import create_app
from monitorx.server.settings import Settings
from monitorx.server.telemetry import (
    ENDPOINT_KEY,
    RequestLatency,
    RequestMetrics,
    RouteTemplates,
    take_snapshot,
)

# GET endpoints a dashboard calls, for series of several endpoints in a scrape.
ENDPOINTS = ("models", "summary", "alerts", "channels", "routes", "silences", "rules",
             "slos", "dashboards", "health")  # fmt: skip
START: Message = {"type": "http.response.start", "status": 202, "headers": []}
BODY: Message = {"type": "http.response.body", "body": b'{"accepted":1}'}


def http_scope(method: str, path: str, body: bytes = b"") -> Scope:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def caller(app: ASGIApp, scope: Scope, body: bytes = b"") -> Callable[[], Awaitable[int]]:
    """One request to ``app`` (a fresh copy of ``scope``); returns its status."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def call() -> int:
        status = 0

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope), receive, send)
        return status

    return call


async def timed(call: Callable[[], Awaitable[int]], requests: int, expect: int) -> list[int]:
    """Each request's duration in ns, the GC paused."""
    for _ in range(min(requests, 2_000)):
        assert await call() == expect
    samples = [0] * requests
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for i in range(requests):
            started = clock()
            status = await call()
            samples[i] = clock() - started
            assert status == expect
    finally:
        gc.enable()
    return samples


def median_p99(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return float(ordered[len(ordered) // 2]), float(ordered[int(len(ordered) * 0.99)])


class ClientHistogram:
    """The same middleware written with prometheus_client's labelled Histogram."""

    def __init__(self, app: ASGIApp, templates: RouteTemplates) -> None:
        self.app = app
        self.templates = templates
        self.histogram = Histogram(
            "monitorx_http_request_duration_seconds",
            "bench",
            ["endpoint", "method", "status"],
            buckets=SECONDS_BUCKETS,
            registry=CollectorRegistry(),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            endpoint = self.templates.of_route(route) if route else scope[ENDPOINT_KEY]
            self.histogram.labels(endpoint, scope["method"], f"{status // 100}xx").observe(
                time.perf_counter() - started
            )


async def middleware_alone(requests: int, templates: RouteTemplates, route: object) -> None:
    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route
        await send(START)
        await send(BODY)

    async def fast_path(scope: Scope, receive: Receive, send: Send) -> None:
        scope[ENDPOINT_KEY] = scope["path"]
        await send(START)
        await send(BODY)

    async def before_routing(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send(BODY)

    scope = http_scope("POST", "/api/v1/metrics/inference")
    unmatched = http_scope("POST", "/no/route/matches/this")
    variants: list[tuple[str, ASGIApp, Scope]] = [
        ("bare app (no middleware)", routed, scope),
        ("RequestMetrics, routed", RequestMetrics(routed, RequestLatency(), templates), scope),
        (
            "RequestMetrics, fast ingest path",
            RequestMetrics(fast_path, RequestLatency(), templates),
            scope,
        ),
        (
            "RequestMetrics, before routing (a 429)",
            RequestMetrics(before_routing, RequestLatency(), templates),
            scope,
        ),
        (
            "RequestMetrics, before routing (unmatched)",
            RequestMetrics(before_routing, RequestLatency(), templates),
            unmatched,
        ),
        ("prometheus_client Histogram, routed", ClientHistogram(routed, templates), scope),
    ]
    print(f"\n1. The middleware alone ({requests:,} requests each; ns per request)")
    print(f"{'':45} {'p50':>8} {'p99':>8} {'p50 added':>10} {'p99 added':>10}")
    base: tuple[float, float] | None = None
    for name, app, request_scope in variants:
        p50, p99 = median_p99(await timed(caller(app, request_scope), requests, 202))
        base = base or (p50, p99)
        print(f"{name:45} {p50:8,.0f} {p99:8,.0f} {p50 - base[0]:10,.0f} {p99 - base[1]:10,.0f}")


def without_middleware(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestMetrics]
    app.middleware_stack = None  # rebuilt on the next call
    return app


async def whole_app(requests: int, rounds: int, data: Path) -> None:
    apps: dict[str, FastAPI] = {}
    for name in ("with", "without"):
        settings = Settings(data_dir=data / name, auth_enabled=False, ingest_workers=0)
        apps[name] = create_app(settings)
    without_middleware(apps["without"])
    metric = b'{"model_id": "bench", "latency": 12.5}'
    cases = [
        ("POST /api/v1/metrics/inference", http_scope("POST", "/api/v1/metrics/inference", metric),
         metric, 202),
        ("GET /api/v1/health/live", http_scope("GET", "/api/v1/health/live"), b"", 200),
    ]  # fmt: skip
    block = max(1, requests // rounds)
    print(f"\n2. The whole app ({rounds} rounds of {block:,} requests on each; µs per request)")
    print(f"{'':34} {'with':>8} {'without':>8} {'added':>8} {'middle half of added':>22}")
    async with (
        apps["with"].router.lifespan_context(apps["with"]),
        apps["without"].router.lifespan_context(apps["without"]),
    ):
        for label, scope, body, expect in cases:
            medians: dict[str, list[float]] = {"with": [], "without": []}
            for round_ in range(rounds):
                # ABBA: which app goes first alternates, so that drift cancels.
                order = list(apps.items()) if round_ % 2 == 0 else list(apps.items())[::-1]
                for name, app in order:
                    samples = await timed(caller(app, scope, body), block, expect)
                    medians[name].append(median_p99(samples)[0] / 1000)
            added = sorted(w - o for w, o in zip(medians["with"], medians["without"], strict=True))
            quartiles = statistics.quantiles(added, n=4)
            print(
                f"{label:34} {statistics.median(medians['with']):8.1f} "
                f"{statistics.median(medians['without']):8.1f} {statistics.median(added):8.1f} "
                f"{quartiles[0]:10.1f} … {quartiles[2]:8.1f}"
            )


async def scrape_cost(models: int, data: Path) -> None:
    settings = Settings(
        data_dir=data / "scrape", auth_enabled=False, ingest_workers=0, prometheus_model_series=True
    )
    app = create_app(settings)
    telemetry = app.state.services.telemetry
    batch = [
        {"model_id": f"model-{m}", "latency": m % 97 + 0.5, "error": m % 9 == 0}
        for m in range(models)
    ]
    body = json.dumps(batch).encode()
    async with app.router.lifespan_context(app):
        path = "/api/v1/metrics/inference/batch"
        assert await caller(app, http_scope("POST", path, body), body)() == 202
        for i in range(20):
            path = f"/api/v1/models/m{i}" if i % 2 else f"/api/v1/{ENDPOINTS[i // 2]}"
            await caller(app, http_scope("GET", path))()
        on_loop, whole = [], []
        for _ in range(200):
            started = time.perf_counter_ns()
            take_snapshot(telemetry.parts)
            on_loop.append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            text = await telemetry.exposition()
            whole.append(time.perf_counter_ns() - started)
    samples = sum(1 for line in text.splitlines() if not line.startswith(b"#"))
    print(
        f"\n3. A scrape with {models} models' series: {len(text):,} bytes, {samples:,} samples; "
        f"{statistics.median(whole) / 1e6:.2f} ms in all, of which "
        f"{statistics.median(on_loop) / 1e6:.3f} ms on the event loop (medians of 200)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--models", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitorx-bench-") as data:
        app = create_app(Settings(data_dir=Path(data) / "templates", auth_enabled=False))
        routes = [(c.original_route, c.path) for c in iter_route_contexts(app.routes) if c.path]
        templates = RouteTemplates(routes)
        route = next(r for r, path in routes if path == "/api/v1/metrics/inference")
        print(f"{len(routes)} route templates")
        asyncio.run(middleware_alone(args.requests, templates, route))
        asyncio.run(whole_app(args.requests, args.rounds, Path(data)))
        asyncio.run(scrape_cost(args.models, Path(data)))


if __name__ == "__main__":
    main()
