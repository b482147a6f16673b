"""The app factory: `create_app(settings)` wires storage, alerting and the routes."""

from __future__ import annotations

__all__ = ["create_app"]

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI

import monitorx
from monitorx.alerting.alerting_config import AlertingConfig
from monitorx.alerting.channels.redaction import install_http_log_redaction
from monitorx.alerting.delivery import RateLimit, RetryPolicy
from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.notifier import Notifier
from monitorx.alerting.profile_catalog import LEARNING_CHECK_S, ThresholdProfileCatalog
from monitorx.alerting.rule_catalog import RuleCatalog
from monitorx.alerting.rule_evaluation import RuleEvaluator
from monitorx.alerting.rules_file import load_rules_file
from monitorx.alerting.slo_catalog import SLOCatalog
from monitorx.alerting.slo_evaluation import SLOEvaluator
from monitorx.analysis.anomaly import SENSITIVITY_Z, build_detectors
from monitorx.core import Clock, SystemClock
from monitorx.ingest.pool import BatchDecoder
from monitorx.server.alert_handlers import load_alert_handlers
from monitorx.server.anomaly_scan import AnomalyScanner
from monitorx.server.api_docs import router as api_docs_router
from monitorx.server.auth import Authenticator
from monitorx.server.concept_drift_feed import ConceptDriftFeed
from monitorx.server.deps import Services
from monitorx.server.drift_analyzer import DriftAnalyzer
from monitorx.server.drift_data import DriftData
from monitorx.server.errors import install_error_handlers
from monitorx.server.evaluation import Evaluator
from monitorx.server.fast_ingest import FastIngest
from monitorx.server.forecast_scan import ForecastScanner
from monitorx.server.limits import RequestLimits
from monitorx.server.live import LiveHub
from monitorx.server.openapi import build_openapi
from monitorx.server.quality_services import build_drift_runs, build_quality_checks
from monitorx.server.rate_limits import RateLimits, TokenBuckets
from monitorx.server.registry import ModelRegistry
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
    health,
    metrics,
    models,
    notification_routes,
    rules,
    silences,
    summary,
    threshold_profiles,
)
from monitorx.server.routes import drift_schedule as drift_schedule_routes
from monitorx.server.routes import quality as quality_routes
from monitorx.server.routes import slos as slo_routes
from monitorx.server.routes import ws as live_routes
from monitorx.server.scheduler import Scheduler
from monitorx.server.settings import Settings
from monitorx.store import DataLifecycle, Storage, TieredReads, open_storage

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings, storage: Storage | None = None, clock: Clock | None = None
) -> FastAPI:
    """A MonitorX server. Storage and clock default to those the settings name."""
    clock = clock or SystemClock()
    store = storage or open_storage(
        settings.resolved_storage_url(),
        settings.project_id,
        clock=clock,
        data_dir=settings.data_dir,
        hot_retention_s=settings.hot_retention_s,
        hot_max_points=settings.hot_max_points,
        flush_rows=settings.flush_rows,
        flush_interval_s=settings.flush_interval_s,
    )
    profiles = ThresholdProfileCatalog(
        store, clock, settings.threshold_learn_min_points, settings.threshold_learn_interval_s
    )
    registry = ModelRegistry(store, profiles)
    engine = AlertEngine(store, clock, settings.alert_clear_period_s)
    evaluator = Evaluator(
        store, registry, engine, settings.error_rate_window_s, settings.error_rate_min_count
    )
    auth = Authenticator(
        settings.auth_enabled,
        [k.get_secret_value() for k in settings.api_keys],
        settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
    )
    decoder = BatchDecoder(settings.ingest_workers)
    lifecycle = DataLifecycle(store, settings.retention_policy(), clock, settings.project_id)
    history = TieredReads(store, lifecycle, clock)
    drift_data = DriftData(
        store, clock, settings.drift_bucket_max_rows, settings.drift_window_max_rows
    )
    # A broken rules file stops the server here, before anything is opened.
    file_rules = load_rules_file(settings.rules_file) if settings.rules_file else []
    rule_evaluator = RuleEvaluator(store, engine, clock)
    rule_catalog = RuleCatalog(store, rule_evaluator)
    slo_evaluator = SLOEvaluator(store, engine, clock, settings.retention_raw_s)
    slo_catalog = SLOCatalog(store, slo_evaluator, settings.retention_raw_s)
    # One client for every channel: pooled connections, no redirects (a webhook's
    # 3xx must not carry its secret elsewhere).
    http = httpx.AsyncClient(timeout=settings.notify_timeout_s, follow_redirects=False)
    alerting = AlertingConfig(store, clock, http)
    notifier = Notifier(
        store,
        clock,
        alerting,
        external_url=settings.external_url,
        policy=RetryPolicy(budget_s=settings.notify_retry_budget_s),
        limit=RateLimit(settings.notify_rate_limit, settings.notify_rate_window_s),
    )
    if settings.notify_enabled:
        engine.add_listener(notifier.handle)
    # The dashboard's WebSocket: every committed batch and alert change, fanned out.
    live = LiveHub()
    evaluator.add_committed_listener(live.publish_batch)
    engine.add_listener(live.publish_alert)
    for handler in load_alert_handlers(settings.alert_handlers):
        engine.add_listener(handler)
    concept_drift_feed = ConceptDriftFeed(store, engine)
    evaluator.add_committed_listener(concept_drift_feed.offer)
    services = Services(
        settings,
        store,
        clock,
        registry,
        engine,
        evaluator,
        auth,
        decoder,
        lifecycle,
        history,
        alerting,
        notifier,
        rules=rule_catalog,
        threshold_profiles=profiles,
        slos=slo_catalog,
        drift_data=drift_data,
        drift_analyzer=DriftAnalyzer(drift_data, store, evaluator, clock),
        concept_drift=concept_drift_feed,
        live=live,
    )
    quality = build_quality_checks(store, clock, engine, drift_data)
    drift_runs = build_drift_runs(store, clock, DriftAnalyzer(drift_data, store, evaluator, clock))
    services.quality, services.drift_runs = quality, drift_runs
    scheduler = Scheduler()
    scheduler.every(settings.alert_tick_s, "resolve-cleared-alerts", engine.resolve_cleared)
    if settings.notify_enabled:
        scheduler.every(settings.alert_tick_s, "notify", notifier.tick)
    scheduler.every(settings.lifecycle_interval_s, "data-lifecycle", lifecycle.run_once)
    scheduler.every(
        settings.lifecycle_interval_s,
        "drift-data-retention",
        lambda: drift_data.drop_expired(settings.retention_raw_s),
    )
    scheduler.every(
        settings.rule_eval_interval_s,
        "evaluate-window-rules",
        lambda: rule_evaluator.evaluate_once(m.id for m in registry.all()),
    )
    scheduler.every(
        LEARNING_CHECK_S, "learn-thresholds", lambda: profiles.learn_once(registry.all())
    )
    scheduler.every(settings.slo_eval_interval_s, "slo-evaluation", slo_evaluator.evaluate_once)
    scheduler.every(settings.drift_schedule_tick_s, "drift-schedules", drift_runs.tick)
    scheduler.every(settings.quality_check_interval_s, "quality-checks", quality.tick)
    if settings.anomaly_detectors:
        anomalies = AnomalyScanner(
            store,
            history,
            engine,
            clock,
            build_detectors(settings.anomaly_detectors),
            settings.anomaly_z_threshold or SENSITIVITY_Z[settings.anomaly_sensitivity],
            settings.anomaly_history_s,
        )
        scheduler.every(
            settings.anomaly_scan_interval_s,
            "anomaly-scan",
            lambda: anomalies.scan_once(m.id for m in registry.all()),
        )
    if settings.forecast_enabled:
        forecasts = ForecastScanner(
            history, engine, clock, settings.forecast_window_s, settings.forecast_horizon_s
        )
        scheduler.every(
            settings.forecast_scan_interval_s,
            "forecast-scan",
            lambda: forecasts.scan_once(registry.thresholds()),
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        decoder.start()
        await store.open()
        await registry.load()
        await engine.load()
        await slo_catalog.load()
        await quality.load()
        await drift_runs.load()
        install_http_log_redaction()
        await alerting.load()
        if settings.notify_enabled:
            await notifier.load(engine.active())
        await profiles.load()
        await rule_catalog.load(file_rules)
        await profiles.learn_once(registry.all())
        await concept_drift_feed.load()
        concept_drift_feed.start()
        evaluator.start()
        scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            await evaluator.stop()
            await concept_drift_feed.stop()
            await notifier.stop()
            await http.aclose()
            await store.close()
            decoder.stop()

    app = FastAPI(
        title="MonitorX",
        version=monitorx.__version__,
        description="Observability for ML and AI models in production.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        # /docs comes from api_docs, its assets from an installed package; no /redoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        models,
        summary,
        metrics,
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
    ):
        api.include_router(module.router)
    api.include_router(slo_routes.router)
    api.include_router(quality_routes.router)
    api.include_router(drift_schedule_routes.router)
    api.include_router(dashboards.router)
    api.include_router(dashboard_series.router)
    api.include_router(live_routes.router)
    app.include_router(api)
    app.include_router(dashboard.router)
    app.include_router(api_docs_router)
    # Outermost last: size and content-type checks, then the fast ingest path.
    app.add_middleware(FastIngest, services=services, prefix=API_PREFIX)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_bulk_body_bytes=settings.max_bulk_body_bytes,
    )
    if settings.rate_limit_per_s > 0:
        buckets = TokenBuckets(settings.rate_limit_per_s, settings.rate_limit_burst)
        app.add_middleware(RateLimits, buckets=buckets, exempt_prefix=f"{API_PREFIX}/health")
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app
