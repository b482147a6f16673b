"""The app factory: `create_app(settings)` — the assembled parts behind HTTP routes."""

from __future__ import annotations

__all__ = ["API_PREFIX", "create_app"]

from fastapi import APIRouter, Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

import monitorx
from monitorx.core import Clock, SystemClock
from monitorx.server.api_docs import router as api_docs_router
from monitorx.server.assembly import assemble
from monitorx.server.audit_trail import AuditTrailMiddleware
from monitorx.server.deps import Services, authorize
from monitorx.server.errors import install_error_handlers
from monitorx.server.fast_ingest import FastIngest
from monitorx.server.limits import RequestLimits
from monitorx.server.openapi import build_openapi
from monitorx.server.projects import ProjectDirectory
from monitorx.server.rate_limits import RateLimits
from monitorx.server.responses import JSONResponse
from monitorx.server.routes import (
    alert_context,
    alerts,
    audit,
    auth_tokens,
    channels,
    concept_drift,
    dashboard,
    dashboard_series,
    dashboards,
    drift,
    drift_analysis,
    drift_schedule,
    erasure,
    events,
    health,
    keys,
    line_protocol,
    metrics,
    models,
    notification_routes,
    otlp,
    otlp_logs,
    prometheus,
    quality,
    remote_write,
    rules,
    series,
    silences,
    slos,
    sso,
    summary,
    threshold_profiles,
    traces,
    users,
    ws,
)
from monitorx.server.secret_keys import SecretKeys, load_secret_keys
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
    erasure,
    concept_drift,
    alerts,
    alert_context,
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
    audit,
    keys,
    users,
    auth_tokens,
    traces,
    events,
)
# The standard ways in at the paths their clients use (API.md): OTLP/HTTP at the
# root, InfluxDB's /write and /api/v2/write; remote_write is under API_PREFIX.
ROOT_ROUTERS = (otlp, otlp_logs, line_protocol, prometheus)
# Their bodies are protobuf or line protocol: each checks its own content type.
PROTOCOL_PATHS = frozenset(
    {"/v1/metrics", "/v1/traces", "/v1/logs", "/write", "/api/v2/write", f"{API_PREFIX}/prom/write"}
)


def create_app(
    settings: Settings,
    storage: Storage | None = None,
    clock: Clock | None = None,
    secret_keys: SecretKeys | None = None,
) -> FastAPI:
    """A MonitorX server. Storage, clock and the keys of channel secrets default to
    those the settings name (`load_secret_keys`, which refuses a PostgreSQL store
    without ``MONITORX_SECRET_KEYS``)."""
    clock = clock or SystemClock()
    keys = secret_keys or load_secret_keys(settings)
    store = storage or _open_storage(settings, clock)
    parts = assemble(settings, store, clock, keys.ring)
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
    app.state.projects = parts.projects
    app.state.config_sync = parts.config_sync
    install_error_handlers(app)
    # Every route of the API and of the standard ways in is authorized in one place,
    # from the table of server/permissions.py (public routes pass through).
    guarded = [Depends(authorize)]
    api = APIRouter(prefix=API_PREFIX)
    for module in API_ROUTERS:
        api.include_router(module.router)
    app.include_router(api, dependencies=guarded)
    for module in ROOT_ROUTERS:
        app.include_router(module.router, dependencies=guarded)
    app.include_router(dashboard.router)
    app.include_router(sso.router)
    app.include_router(api_docs_router)
    assert parts.projects is not None  # the process's assembly has its directory
    _install_middleware(app, settings, parts.services, parts.projects)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def _open_storage(settings: Settings, clock: Clock) -> Storage:
    return open_storage(
        settings.resolved_storage_url(),
        settings.project_id,
        clock=clock,
        data_dir=settings.data_dir,
        hot_retention_s=settings.effective_hot_retention_s,
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


def _install_middleware(
    app: FastAPI, settings: Settings, services: Services, projects: ProjectDirectory
) -> None:
    # Outermost last: request latency (of every request, those refused included);
    # security headers on every answer; CORS (preflights answered, and a 429 a
    # page can read); rate limits, which authenticate the request once for
    # everything behind; size and content-type checks; the audit trail (of changes,
    # and of refused credentials on any path); the fast ingest path.
    app.add_middleware(FastIngest, projects=projects, prefix=API_PREFIX)
    app.add_middleware(AuditTrailMiddleware, trails=lambda scope: projects.resolved(scope).audit)
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
