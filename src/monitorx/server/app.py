"""The app factory: `create_app(settings)` — the assembled parts behind HTTP routes."""

from __future__ import annotations

__all__ = ["API_PREFIX", "create_app"]

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

import monitorx
from monitorx.core import Clock, SystemClock
from monitorx.server.api_docs import router as api_docs_router
from monitorx.server.assembly import assemble
from monitorx.server.deps import Services
from monitorx.server.errors import install_error_handlers
from monitorx.server.fast_ingest import FastIngest
from monitorx.server.limits import RequestLimits
from monitorx.server.openapi import build_openapi
from monitorx.server.rate_limits import RateLimits
from monitorx.server.responses import JSONResponse
from monitorx.server.routes import (
    alerts,
    channels,
    concept_drift,
    dashboard,
    dashboard_series,
    dashboards,
    drift,
    drift_analysis,
    drift_schedule,
    health,
    line_protocol,
    metrics,
    models,
    notification_routes,
    otlp,
    prometheus,
    quality,
    remote_write,
    rules,
    series,
    silences,
    slos,
    summary,
    threshold_profiles,
    ws,
)
from monitorx.server.security_headers import SecurityHeaders
from monitorx.server.settings import Settings
from monitorx.server.telemetry import RequestMetrics, RouteTemplates
from monitorx.store import Storage, open_storage

API_PREFIX = "/api/v1"
# The API's routers, in the order the OpenAPI document lists them.
API_ROUTERS = (
    models,
    summary,
    metrics,
    series,
    drift,
    drift_analysis,
    concept_drift,
    alerts,
    channels,
    notification_routes,
    silences,
    rules,
    threshold_profiles,
    health,
    slos,
    quality,
    drift_schedule,
    dashboards,
    dashboard_series,
    ws,
    remote_write,
)
# The standard ways in at the paths their clients use (API.md): OTLP/HTTP at the
# root, InfluxDB's /write and /api/v2/write; remote_write is under API_PREFIX.
ROOT_ROUTERS = (otlp, line_protocol, prometheus)
# Their bodies are protobuf or line protocol: each checks its own content type.
PROTOCOL_PATHS = frozenset({"/v1/metrics", "/write", "/api/v2/write", f"{API_PREFIX}/prom/write"})


def create_app(
    settings: Settings, storage: Storage | None = None, clock: Clock | None = None
) -> FastAPI:
    """A MonitorX server. Storage and clock default to those the settings name."""
    clock = clock or SystemClock()
    store = storage or _open_storage(settings, clock)
    parts = assemble(settings, store, clock)
    app = FastAPI(
        title="MonitorX",
        version=monitorx.__version__,
        description="Observability for ML and AI models in production.",
        lifespan=parts.lifespan,
        default_response_class=JSONResponse,
        # /docs comes from api_docs, its assets from an installed package; no /redoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = parts.services
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in API_ROUTERS:
        api.include_router(module.router)
    app.include_router(api)
    for module in ROOT_ROUTERS:
        app.include_router(module.router)
    app.include_router(dashboard.router)
    app.include_router(api_docs_router)
    _install_middleware(app, settings, parts.services)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def _open_storage(settings: Settings, clock: Clock) -> Storage:
    return open_storage(
        settings.resolved_storage_url(),
        settings.project_id,
        clock=clock,
        data_dir=settings.data_dir,
        hot_retention_s=settings.hot_retention_s,
        hot_max_points=settings.hot_max_points,
        flush_rows=settings.flush_rows,
        flush_interval_s=settings.flush_interval_s,
    )


# What a page on an allowed origin may send and read (CORS).
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Encoding",
    "Content-Type",
    "X-API-Key",
    "X-MonitorX-Project",
)
CORS_EXPOSED_HEADERS = (
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)


def _install_middleware(app: FastAPI, settings: Settings, services: Services) -> None:
    # Outermost last: request latency (of every request, those refused included);
    # security headers on every answer; CORS (preflights answered, and a 429 a
    # page can read); rate limits, which authenticate the request once for
    # everything behind; size and content-type checks; the fast ingest path.
    app.add_middleware(FastIngest, services=services, prefix=API_PREFIX)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_bulk_body_bytes=settings.max_bulk_body_bytes,
        own_media_paths=PROTOCOL_PATHS,
    )
    if services.rate_limits is not None:
        app.add_middleware(
            RateLimits,
            buckets=services.rate_limits,
            auth=services.auth,
            exempt_prefix=f"{API_PREFIX}/health",
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            # Credentials travel in headers, never cookies: a page must name them itself.
            allow_credentials=False,
        )
    app.add_middleware(SecurityHeaders, hsts_max_age_s=settings.hsts_max_age_s)
    app.add_middleware(
        RequestMetrics,
        latency=services.telemetry.requests,
        templates=RouteTemplates.of_app(app),
    )
