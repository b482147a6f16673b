"""A project's scheduled jobs, and which of them run once per cluster.

Most jobs change what every replica shares — rollups and retention, clears of
alerts, evaluations, scans, drift runs — and run once per cluster, on the holder
of the project's jobs lease (`server.cluster`); the rest keep one replica's own
memory current (reloads, the live alert counts) and run on every replica.
"""

from __future__ import annotations

__all__ = ["schedule_jobs"]

from monitorx.alerting.profiles.catalog import LEARNING_CHECK_S, ThresholdProfileCatalog
from monitorx.alerting.rules.evaluation import RuleEvaluator
from monitorx.alerting.slo.evaluation import SLOEvaluator
from monitorx.analysis.anomaly import SENSITIVITY_Z, build_detectors
from monitorx.evaluation.anomaly_scan import AnomalyScanner
from monitorx.evaluation.forecast_scan import ForecastScanner
from monitorx.evaluation.scheduler import Job
from monitorx.server.cluster import ClusterRoles
from monitorx.server.deps import Services
from monitorx.server.users import USERS_RELOAD_S
from monitorx.store import DataLifecycle

# How often a replica of a cluster reads the custom-metric series others created,
# and the alerts others opened and resolved (its summaries' active counts).
SERIES_RELOAD_S = 5.0
ACTIVE_ALERTS_REFRESH_S = 1.0


def schedule_jobs(
    services: Services,
    cluster: ClusterRoles | None,
    lifecycle: DataLifecycle,
    profiles: ThresholdProfileCatalog,
    rule_evaluator: RuleEvaluator,
    slo_evaluator: SLOEvaluator,
) -> None:
    """Add the project's jobs to its scheduler (``services.scheduler``)."""
    settings, scheduler, engine = services.settings, services.scheduler, services.engine
    registry, records = services.registry, services.records

    def once(seconds: float, name: str, job: Job) -> None:
        scheduler.every(seconds, name, job, once_per_cluster=True)

    once(settings.alert_tick_s, "resolve-cleared-alerts", engine.resolve_cleared)
    if settings.notify_enabled:
        # On every replica; where replicas share the store, only the notifier
        # lease's holder sends (its tick does nothing elsewhere).
        leadership = None if cluster is None else cluster.notifier
        tick = services.notifier.tick if leadership is None else leadership.tick
        scheduler.every(settings.alert_tick_s, "notify", tick)
    if cluster is not None:
        # What other replicas opened and resolved, for this one's summaries (not on
        # the alert path: the store decides each breach itself).
        scheduler.every(ACTIVE_ALERTS_REFRESH_S, "refresh-active-alerts", engine.load)
        # Custom-metric series another replica created: their samples are in the
        # shared store, and a query here must find them (loading only adds the new).
        scheduler.every(SERIES_RELOAD_S, "reload-series", services.custom.load)
    once(settings.lifecycle_interval_s, "data-lifecycle", lifecycle.run_once)
    scheduler.every(
        settings.lifecycle_interval_s, "keep-series-last-seen", services.custom.keep_last_seen
    )
    once(settings.lifecycle_interval_s, "audit-retention", services.audit.drop_expired)
    # Users created, disabled or deleted by another process (the CLI, a replica).
    scheduler.every(USERS_RELOAD_S, "reload-users", services.users.load)
    once(
        settings.lifecycle_interval_s,
        "drift-data-retention",
        lambda: records.drop_expired(settings.retention_raw_s),
    )
    once(
        settings.rule_eval_interval_s,
        "evaluate-window-rules",
        lambda: rule_evaluator.evaluate_once(m.id for m in registry.all()),
    )
    once(LEARNING_CHECK_S, "learn-thresholds", lambda: profiles.learn_once(registry.all()))
    once(settings.slo_eval_interval_s, "slo-evaluation", slo_evaluator.evaluate_once)
    once(settings.drift_schedule_tick_s, "drift-schedules", services.drift_runs.tick)
    once(settings.quality_check_interval_s, "quality-checks", services.quality.tick)
    if settings.anomaly_detectors:
        anomalies = AnomalyScanner(
            services.storage,
            services.history,
            engine,
            services.clock,
            build_detectors(settings.anomaly_detectors),
            settings.anomaly_z_threshold or SENSITIVITY_Z[settings.anomaly_sensitivity],
            settings.anomaly_history_s,
        )
        once(
            settings.anomaly_scan_interval_s,
            "anomaly-scan",
            lambda: anomalies.scan_once(m.id for m in registry.all()),
        )
    if settings.forecast_enabled:
        forecasts = ForecastScanner(
            services.history,
            engine,
            services.clock,
            settings.forecast_window_s,
            settings.forecast_horizon_s,
        )
        once(
            settings.forecast_scan_interval_s,
            "forecast-scan",
            lambda: forecasts.scan_once(registry.thresholds()),
        )
