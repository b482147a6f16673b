"""The parts a server is made of, built from the settings, in dependency order.

`assemble_project` builds the pipeline of DESIGN.md for one project — storage,
ingest, evaluation, alerting and notification, the records of drift data — and the
scheduler's jobs, and returns them as `Services` (what routes use) with the steps
that load, start and stop them in order. `assemble` builds what the projects of a
process share (`SharedParts`: the decoder pool, the HTTP client of the channels,
the keys and authentication, the rate limits), the server's own project, and the
`ProjectDirectory` that builds every other project on first use.
"""

from __future__ import annotations

__all__ = ["Assembly", "assemble", "assemble_project"]

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI

import monitorx
from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.handlers import load_alert_handlers
from monitorx.alerting.notify.channels.redaction import install_http_log_redaction
from monitorx.alerting.notify.config import AlertingConfig
from monitorx.alerting.notify.delivery import DeliveryPolicy
from monitorx.alerting.notify.notifier import Notifier
from monitorx.alerting.notify.rate_limits import RateLimit
from monitorx.alerting.profiles.catalog import ThresholdProfileCatalog
from monitorx.alerting.rules.catalog import RuleCatalog
from monitorx.alerting.rules.evaluation import RuleEvaluator
from monitorx.alerting.rules.file import load_rules_file
from monitorx.alerting.slo.catalog import SLOCatalog
from monitorx.alerting.slo.evaluation import SLOEvaluator
from monitorx.core import Clock, MonitorXError
from monitorx.core.pii import PiiMasker
from monitorx.core.timeparse import to_epoch_us
from monitorx.evaluation.alert_context import AlertContext
from monitorx.evaluation.batches import Evaluator
from monitorx.evaluation.concept_drift_feed import ConceptDriftFeed
from monitorx.evaluation.drift_analyzer import DriftAnalyzer
from monitorx.evaluation.drift_runs import ScheduledDriftRuns
from monitorx.evaluation.quality import QualityChecks
from monitorx.evaluation.registry import ModelRegistry
from monitorx.evaluation.scheduler import Scheduler
from monitorx.ingest.pool import BatchDecoder
from monitorx.ingest.service import IngestService
from monitorx.ingest.traces import TraceIngest
from monitorx.records.store import RecordStore
from monitorx.server.audit_trail import AuditTrail
from monitorx.server.cluster import ClusterRoles
from monitorx.server.config_sync import ConfigSync
from monitorx.server.deps import Services
from monitorx.server.jobs import schedule_jobs
from monitorx.server.keys import KEYS_RELOAD_S
from monitorx.server.live import LiveHub
from monitorx.server.log_redaction import install_log_redaction
from monitorx.server.pii_policy import pii_policy
from monitorx.server.projects import ProjectDirectory
from monitorx.server.settings import Settings
from monitorx.server.shared_parts import SharedParts
from monitorx.server.telemetry import ModelSeries, ObservedParts, RequestLatency, Telemetry
from monitorx.server.tokens import TokenService
from monitorx.server.users import UserDirectory
from monitorx.store import DataLifecycle, Storage, TieredReads
from monitorx.store.label_keys import InferenceLabelKeys
from monitorx.store.labelled_reads import InferenceByLabels
from monitorx.store.metric_queries import MetricQueries
from monitorx.store.samples.catalog import SeriesCatalog
from monitorx.store.samples.hot import SampleHotTier
from monitorx.store.samples.service import CustomMetrics
from monitorx.store.secret_keys import SecretKeyRing, SecretUnreadable

if TYPE_CHECKING:
    pass

Step = Callable[[], Awaitable[object]]
logger = logging.getLogger("monitorx.server")


@dataclass(frozen=True, slots=True)
class Assembly:
    """The wired services, and what to run when the server starts and stops."""

    services: Services
    startup: list[Step]
    shutdown: list[Step]
    projects: ProjectDirectory | None = None
    """Every project's services (on the process's assembly; None on a project's)."""
    reload: list[Step] = field(default_factory=list)
    """What reads the project's configuration again, once another process changed it."""
    config_sync: ConfigSync | None = None
    """What applies the configuration changes of other processes (on the process's
    assembly, over a store that tells of them; else None)."""

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        try:
            for step in self.startup:
                await step()
        except BaseException:
            # A start that fails half-way (channels no key opens, a broken rules
            # file) stops what it started: an open store's threads would otherwise
            # keep the process alive after the error was reported.
            await self._stop_after_failed_start()
            raise
        try:
            yield
        finally:
            for step in self.shutdown:
                await step()

    async def _stop_after_failed_start(self) -> None:
        for step in self.shutdown:
            try:
                await step()
            except Exception:
                logger.exception("stopping after a failed start-up: %s failed", step)


def _notifier(
    settings: Settings,
    store: Storage,
    clock: Clock,
    keys: SecretKeyRing,
    http: httpx.AsyncClient,
) -> Notifier:
    default_limit = (
        None
        if settings.notify_rate_limit is None
        else RateLimit(settings.notify_rate_limit, settings.notify_rate_window_s)
    )
    notifier = Notifier(
        store,
        clock,
        AlertingConfig(store, clock, http, keys, default_limit),
        external_url=settings.external_url,
        policy=DeliveryPolicy(budget_s=settings.notify_retry_budget_s),
        concurrency=settings.notify_channel_concurrency,
        tick_s=settings.alert_tick_s,
    )
    return notifier


def _telemetry(
    settings: Settings,
    ingest: IngestService,
    decoder: BatchDecoder,
    evaluator: Evaluator,
    engine: AlertEngine,
    notifier: Notifier,
    live: LiveHub,
    scheduler: Scheduler,
) -> Telemetry:
    """The app's own Prometheus registry over its parts (server/telemetry)."""
    models = ModelSeries() if settings.prometheus_model_series else None
    if models is not None:
        evaluator.add_committed_listener(models.observe)
    parts = ObservedParts(
        version=monitorx.__version__,
        ingest=ingest.stats,
        decoder=decoder,
        evaluator=evaluator,
        engine=engine,
        deliveries=notifier.queue,
        live=live,
        scheduler=scheduler,
        requests=RequestLatency(),
        models=models,
    )
    return Telemetry.build(parts)


def _async(fn: Callable[[], object]) -> Step:
    async def step() -> None:
        fn()

    return step


OTLP_GRPC_EXTRA = 'pip install "monitorx[otlp-grpc]"'


def _otlp_grpc(
    settings: Settings, services: Services, projects: ProjectDirectory
) -> tuple[Step, Step] | None:
    """Start and stop of the OTLP/gRPC server, when ``otlp_grpc_port`` asks for one.
    grpcio is an optional extra: without it, a `MonitorXError` that says how to
    install it, before anything starts."""
    if settings.otlp_grpc_port is None:
        return None
    try:
        from monitorx.server.otlp_grpc import OtlpGrpcServer
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "grpc":
            raise
        raise MonitorXError(
            f"OTLP/gRPC (otlp_grpc_port, --otlp-grpc-port) needs grpcio, which is not "
            f"installed: {OTLP_GRPC_EXTRA}"
        ) from None
    server = OtlpGrpcServer(
        services.ingest,
        services.auth,
        services.clock,
        (settings.host, settings.otlp_grpc_port),
        settings.max_body_bytes,
        projects,
    )
    return server.start, server.stop


UNREADABLE_SECRETS_ADVICE = (
    "Start the server with the key they were sealed with (MONITORX_SECRET_KEYS, or the "
    "data directory's secret-key file); if that key is lost, so are their secrets: "
    "`monitorx secrets rotate --delete-unreadable` deletes those channels, to be "
    "created again"
)


def _load_alerting(config: AlertingConfig) -> Step:
    async def load() -> None:
        try:
            await config.load()
        except SecretUnreadable as exc:
            raise SecretUnreadable(f"{exc}. {UNREADABLE_SECRETS_ADVICE}") from None

    return load


def _started_tokens(projects: ProjectDirectory, project: str) -> TokenService | None:
    started = projects.started(project)
    return None if started is None else started.tokens


def assemble(
    settings: Settings, store: Storage, clock: Clock, secret_keys: SecretKeyRing
) -> Assembly:
    """Every part of a server over ``store`` (a store of the server's project,
    ``settings.project_id``), wired as the settings say; channel secrets sealed with
    ``secret_keys``. Other projects are built on first use by the assembly's
    `ProjectDirectory`, over project views of ``store``, and at start-up for every
    project that has a stored key, models, alerts or alerting configuration."""
    shared = SharedParts.build(settings, store, clock)
    own = assemble_project(settings, store, clock, secret_keys, shared)
    services = own.services
    projects = ProjectDirectory(
        settings.project_id,
        own.services,
        lambda project: assemble_project(
            settings, store.for_project(project), clock, secret_keys, shared
        ),
        own.reload,
    )
    shared.tokens.attach(lambda project: _started_tokens(projects, project))
    # Keys created or revoked by another process (the CLI, a replica), of any project.
    services.scheduler.every(KEYS_RELOAD_S, "reload-keys", shared.keyring.load)
    decoder, rate_limits = shared.decoder, shared.rate_limits

    async def start_known_projects() -> None:
        # Their background work (alert timers, notifications, scheduled runs) goes
        # on from the start, not from their first request after a restart.
        await projects.start(shared.keyring.projects() | await store.stored_projects())

    startup: list[Step] = [
        _async(decoder.start),
        *own.startup[:1],  # the store: the keys are in it
        shared.keyring.load,
        *own.startup[1:],
        start_known_projects,
    ]
    if rate_limits is not None:
        # Says at start when Redis does not answer (requests go on either way).
        startup.append(rate_limits.check)
    if shared.live_relay is not None:
        startup.append(shared.live_relay.start)
    shutdown: list[Step] = [
        # Every other project's parts and store view before the store they share.
        projects.close,
        *own.shutdown,
        shared.http.aclose,
        _async(decoder.stop),
    ]
    if rate_limits is not None:
        shutdown.append(rate_limits.close)
    config_sync = _config_sync(settings, store, clock, shared, projects)
    if config_sync is not None:
        startup.append(config_sync.start)
        shutdown.insert(0, config_sync.stop)
    if shared.live_relay is not None:
        shutdown.append(shared.live_relay.close)
    otlp_grpc = _otlp_grpc(settings, services, projects)
    if otlp_grpc is not None:
        # Listens once everything it writes through is up; stops taking calls first.
        startup.append(otlp_grpc[0])
        shutdown.insert(0, otlp_grpc[1])
    return Assembly(services, startup, shutdown, projects, config_sync=config_sync)


def _config_sync(
    settings: Settings,
    store: Storage,
    clock: Clock,
    shared: SharedParts,
    projects: ProjectDirectory,
) -> ConfigSync | None:
    """Configuration changes made through other processes, applied here, when the
    store tells of them (PostgreSQL; a DuckDB file has no other process)."""
    changes = store.config_changes()
    if changes is None:
        return None
    sync = ConfigSync(changes, clock, settings.config_reload_s)

    async def reload(changed: frozenset[str] | None) -> None:
        try:
            # The keys of every project are one table in memory (`KeyRing`).
            await shared.keyring.load()
        finally:
            if changed is None:
                # Everything: the projects started here, and those made elsewhere
                # meanwhile (as at start-up: `start_known_projects`).
                known = shared.keyring.projects() | await store.stored_projects()
                changed = frozenset(projects.projects()) | known
            await projects.reload(changed)

    sync.attach(reload)
    return sync


def assemble_project(
    settings: Settings,
    store: Storage,
    clock: Clock,
    secret_keys: SecretKeyRing,
    shared: SharedParts,
) -> Assembly:
    """The parts of one project, ``store.project_id``, over ``store`` and the parts
    its process shares; its startup opens the store first, its shutdown closes it
    last."""
    project = store.project_id
    # A broken rules file stops the server here, before anything is opened.
    file_rules = load_rules_file(settings.rules_file) if settings.rules_file else []
    profiles = ThresholdProfileCatalog(
        store, clock, settings.threshold_learn_min_points, settings.threshold_learn_interval_s
    )
    registry = ModelRegistry(store, profiles)
    engine = AlertEngine(store, clock, settings.alert_clear_period_s)
    evaluator = Evaluator(
        store, registry, engine, settings.error_rate_window_s, settings.error_rate_min_count, clock
    )
    # One masker for every way in: metrics' tags, custom metrics' labels, records,
    # labels and reference sets are masked by the same policy.
    policy = pii_policy(settings, project)
    masker = PiiMasker(policy) if policy.enabled else None
    decoder = shared.decoder
    catalog = SeriesCatalog(settings.max_series_per_metric)
    lifecycle = DataLifecycle(
        store, settings.retention_policy(), clock, project, series=catalog.get
    )
    history = TieredReads(store, lifecycle, clock)
    hot_samples = SampleHotTier(
        round(settings.effective_hot_retention_s * 1_000_000),  # 0 in a cluster
        settings.hot_max_points,
        to_epoch_us(clock.now()),
    )
    custom = CustomMetrics(store, catalog, hot_samples, lifecycle, clock)
    ingest = IngestService(
        store, clock, decoder, settings.max_batch_items, evaluator.submit, custom, masker
    )
    label_keys = InferenceLabelKeys(clock)
    evaluator.add_committed_listener(label_keys.observe)
    records = RecordStore(
        store,
        clock,
        settings.drift_bucket_max_rows,
        settings.drift_window_max_rows,
        masker=masker,
    )
    queries = MetricQueries(InferenceByLabels(store, lifecycle, clock), custom)
    rule_evaluator = RuleEvaluator(store, queries, engine, clock)
    rules = RuleCatalog(store, rule_evaluator)
    slo_evaluator = SLOEvaluator(store, engine, clock, settings.retention_raw_s)
    slos = SLOCatalog(store, slo_evaluator, settings.retention_raw_s)
    notifier = _notifier(settings, store, clock, secret_keys, shared.http)
    # Each new alert's root-cause hint, computed in the background for its notifications.
    notifier.set_hint_source(AlertContext(store, clock).hint)
    # Replicas sharing the store: leases say who runs the once-per-cluster jobs and
    # who notifies, reading every replica's transitions back from the store.
    cluster = (
        ClusterRoles.build(
            store, clock, shared.lease_holder, notifier if settings.notify_enabled else None
        )
        if settings.distributed
        else None
    )
    if settings.notify_enabled and cluster is None:
        engine.add_batch_listener(notifier.handle_events)
    # The dashboard's WebSocket: every committed batch and alert change, fanned out.
    # In a cluster, also every other replica's, through Redis (server/live_relay.py).
    live = LiveHub(relay=shared.live_relay, project=project)
    evaluator.add_committed_listener(live.publish_batch)
    engine.add_listener(live.publish_alert)
    for handler in load_alert_handlers(settings.alert_handlers):
        engine.add_listener(handler)
    concept_drift = ConceptDriftFeed(store, engine)
    evaluator.add_committed_listener(concept_drift.offer)
    analyzer = DriftAnalyzer(records, ingest, clock)
    drift_runs = ScheduledDriftRuns(store, clock, analyzer.analyze_report)
    quality = QualityChecks(store, clock, engine, records)
    scheduler = Scheduler(clock, None if cluster is None else cluster.jobs.holds)
    users = UserDirectory(store, clock, project, secret_keys)
    tokens = TokenService(
        store,
        users,
        clock,
        project,
        shared.signing_key,
        settings.access_token_ttl_s,
        settings.refresh_token_ttl_s,
    )
    rate_limits = shared.rate_limits
    services = Services(
        settings=settings,
        storage=store,
        clock=clock,
        auth=shared.auth,
        keys=shared.keyring.for_project(project, store),
        users=users,
        tokens=tokens,
        ingest=ingest,
        registry=registry,
        history=history,
        engine=engine,
        alerting=notifier.config,
        notifier=notifier,
        rules=rules,
        threshold_profiles=profiles,
        slos=slos,
        records=records,
        drift_analyzer=analyzer,
        drift_runs=drift_runs,
        quality=quality,
        concept_drift=concept_drift,
        live=live,
        evaluator=evaluator,
        scheduler=scheduler,
        decoder=decoder,
        custom=custom,
        metric_queries=queries,
        label_keys=label_keys,
        telemetry=_telemetry(
            settings, ingest, decoder, evaluator, engine, notifier, live, scheduler
        ),
        audit=AuditTrail(store, clock, project, settings.audit_retention_s, events=store),
        rate_limits=rate_limits,
        traces=TraceIngest(store, ingest, settings.keeps_trace_content(project), masker),
        sso=shared.sso,
        cluster=cluster,
    )

    schedule_jobs(services, cluster, lifecycle, profiles, rule_evaluator, slo_evaluator)

    async def load_notifier() -> None:
        if settings.notify_enabled and cluster is None:  # else: when it takes the lease
            await notifier.load(engine.active())

    startup: list[Step] = [
        store.open,
        users.load,
        custom.load,
        lambda: label_keys.load(store),
        registry.load,
        engine.load,
        slos.load,
        quality.load,
        drift_runs.load,
        _async(install_http_log_redaction),
        _async(install_log_redaction),
        _load_alerting(notifier.config),
        load_notifier,
        profiles.load,
        lambda: rules.load(file_rules),
        lambda: profiles.learn_once(registry.all()),
        concept_drift.load,
        _async(concept_drift.start),
        _async(evaluator.start),
        _async(scheduler.start),
    ]
    if cluster is not None:
        startup.append(cluster.start)
        shutdown: list[Step] = [cluster.stop]
    else:
        shutdown = []
    shutdown += [
        scheduler.stop,
        evaluator.stop,
        concept_drift.stop,
        notifier.stop,
        store.close,
    ]
    # Each replaces what it held with what is stored, keeping the state of what
    # stayed the same (alerts are the engine's, and are not read here).
    reload: list[Step] = [
        users.load,
        registry.load,
        profiles.load,
        slos.load,
        quality.load,
        drift_runs.load,
        _load_alerting(notifier.config),
        rules.reload,
        concept_drift.reload,
    ]
    return Assembly(services, startup, shutdown, reload=reload)
