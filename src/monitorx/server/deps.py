"""What routes depend on: one typed dependency per service, and the caller's identity.

`create_app` builds the services of each project (`Services`, held by the
`ProjectDirectory` on the app's state); a route names the ones it uses
(``registry: RegistryDep``), so its signature says what it touches and a test can
see it in the OpenAPI-free code. A dependency gives the service of the project the
request acts in (`monitorx.server.projects`); those every project shares (the
settings, the clock, authentication, the decoder pool, the rate limits,
telemetry) come from the server's own project without working that out.
"""

from __future__ import annotations

__all__ = [
    "AlertingDep",
    "AuditDep",
    "AuthDep",
    "ClockDep",
    "ClusterDep",
    "ConceptDriftDep",
    "CustomDep",
    "DecoderDep",
    "DriftAnalyzerDep",
    "DriftRunsDep",
    "EngineDep",
    "EvaluatorDep",
    "HistoryDep",
    "IngestDep",
    "KeysDep",
    "LabelKeysDep",
    "LiveDep",
    "MetricQueriesDep",
    "NotifierDep",
    "QualityDep",
    "RateLimitsDep",
    "RecordsDep",
    "RegistryDep",
    "RulesDep",
    "SLOsDep",
    "SchedulerDep",
    "Services",
    "SettingsDep",
    "SsoDep",
    "StorageDep",
    "TelemetryDep",
    "ThresholdProfilesDep",
    "TokensDep",
    "TracesDep",
    "UsersDep",
    "authorize",
    "project_services",
    "services_of",
]

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.notify.config import AlertingConfig
from monitorx.alerting.notify.notifier import Notifier
from monitorx.alerting.profiles.catalog import ThresholdProfileCatalog
from monitorx.alerting.rules.catalog import RuleCatalog
from monitorx.alerting.slo.catalog import SLOCatalog
from monitorx.core import Clock, Forbidden
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
from monitorx.server.audit_trail import PRINCIPAL_STATE, AuditTrail
from monitorx.server.auth import Authenticator, Principal
from monitorx.server.cluster import ClusterRoles
from monitorx.server.keys import KeyRing
from monitorx.server.live import LiveHub
from monitorx.server.permissions import USER_ROUTES, permission_of
from monitorx.server.rate_limits import Buckets
from monitorx.server.settings import Settings
from monitorx.server.telemetry import Telemetry
from monitorx.server.tokens import TokenService
from monitorx.server.users import UserDirectory
from monitorx.store import Storage, TieredReads
from monitorx.store.label_keys import InferenceLabelKeys
from monitorx.store.metric_queries import MetricQueries
from monitorx.store.samples.service import CustomMetrics

if TYPE_CHECKING:
    from monitorx.server.oidc import OidcLogin  # imported only where SSO is configured
    from monitorx.server.projects import ProjectDirectory


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request of one project may use, built once per project."""

    settings: Settings
    storage: Storage
    clock: Clock
    auth: Authenticator
    ingest: IngestService
    registry: ModelRegistry
    history: TieredReads
    engine: AlertEngine
    alerting: AlertingConfig
    notifier: Notifier
    rules: RuleCatalog
    threshold_profiles: ThresholdProfileCatalog
    slos: SLOCatalog
    records: RecordStore
    drift_analyzer: DriftAnalyzer
    drift_runs: ScheduledDriftRuns
    quality: QualityChecks
    concept_drift: ConceptDriftFeed
    live: LiveHub
    evaluator: Evaluator
    scheduler: Scheduler
    decoder: BatchDecoder
    custom: CustomMetrics
    metric_queries: MetricQueries
    label_keys: InferenceLabelKeys
    telemetry: Telemetry
    audit: AuditTrail
    keys: KeyRing
    users: UserDirectory
    tokens: TokenService
    rate_limits: Buckets | None  # None: requests are not rate limited
    traces: TraceIngest
    sso: OidcLogin | None = None  # None: no single sign-on configured
    cluster: ClusterRoles | None = None  # None: not one of replicas sharing the store


def services_of(app: FastAPI) -> Services:
    """The services `create_app` wired into ``app`` for the server's own project."""
    services: Services = app.state.services
    return services


async def project_services(conn: HTTPConnection) -> Services:
    """The services of the project ``conn`` acts in (built on its first use)."""
    projects: ProjectDirectory = conn.app.state.projects
    return await projects.of_request(conn)


def _service(name: str) -> Any:
    # async so that FastAPI runs it on the loop, not in a worker thread per request.
    async def get(conn: HTTPConnection) -> object:
        return getattr(await project_services(conn), name)

    get.__name__ = f"{name}_service"
    return Depends(get)


def _shared(name: str) -> Any:
    """A service every project shares: the server's own project's."""

    async def get(conn: HTTPConnection) -> object:
        return getattr(conn.app.state.services, name)

    get.__name__ = f"{name}_service"
    return Depends(get)


SettingsDep = Annotated[Settings, _shared("settings")]
StorageDep = Annotated[Storage, _service("storage")]
ClockDep = Annotated[Clock, _shared("clock")]
AuthDep = Annotated[Authenticator, _shared("auth")]
IngestDep = Annotated[IngestService, _service("ingest")]
TracesDep = Annotated[TraceIngest, _service("traces")]
RegistryDep = Annotated[ModelRegistry, _service("registry")]
HistoryDep = Annotated[TieredReads, _service("history")]
EngineDep = Annotated[AlertEngine, _service("engine")]
AlertingDep = Annotated[AlertingConfig, _service("alerting")]
NotifierDep = Annotated[Notifier, _service("notifier")]
RulesDep = Annotated[RuleCatalog, _service("rules")]
ThresholdProfilesDep = Annotated[ThresholdProfileCatalog, _service("threshold_profiles")]
SLOsDep = Annotated[SLOCatalog, _service("slos")]
RecordsDep = Annotated[RecordStore, _service("records")]
DriftAnalyzerDep = Annotated[DriftAnalyzer, _service("drift_analyzer")]
DriftRunsDep = Annotated[ScheduledDriftRuns, _service("drift_runs")]
QualityDep = Annotated[QualityChecks, _service("quality")]
ConceptDriftDep = Annotated[ConceptDriftFeed, _service("concept_drift")]
LiveDep = Annotated[LiveHub, _service("live")]
EvaluatorDep = Annotated[Evaluator, _service("evaluator")]
SchedulerDep = Annotated[Scheduler, _service("scheduler")]
DecoderDep = Annotated[BatchDecoder, _shared("decoder")]
CustomDep = Annotated[CustomMetrics, _service("custom")]
MetricQueriesDep = Annotated[MetricQueries, _service("metric_queries")]
LabelKeysDep = Annotated[InferenceLabelKeys, _service("label_keys")]
TelemetryDep = Annotated[Telemetry, _shared("telemetry")]
AuditDep = Annotated[AuditTrail, _service("audit")]
SsoDep = Annotated["OidcLogin | None", _service("sso")]
KeysDep = Annotated[KeyRing, _service("keys")]
UsersDep = Annotated[UserDirectory, _service("users")]
TokensDep = Annotated[TokenService, _service("tokens")]
RateLimitsDep = Annotated[Buckets | None, _shared("rate_limits")]
ClusterDep = Annotated[ClusterRoles | None, _service("cluster")]


async def authorize(conn: HTTPConnection, auth: AuthDep) -> Principal | None:
    """The one authorization of the API: the permission the route reached needs
    (`monitorx.server.permissions`), granted by the caller's role; None on a public
    route. Included with every router of the API, so no route can forget it. The
    live WebSocket checks its caller itself, with the same table, once the browser
    has sent its credentials (`routes.ws`)."""
    if conn.scope["type"] == "websocket":
        return None
    route = conn.scope.get("route")
    name = str(getattr(route, "name", ""))
    permission = permission_of(name)
    if permission is None:
        return None
    principal = auth.authenticate(conn)
    # Kept for the audit trail, which names who made a change (or was refused).
    setattr(conn.state, PRINCIPAL_STATE, principal)
    auth.require(principal, permission)
    if name in USER_ROUTES and principal.user_id is None:
        raise Forbidden(
            f"only a user logged in with a password may do this; {principal.name} is none"
        )
    # The project's services, resolved now: the audit trail records a change in the
    # project it was made in, and a bad project header is refused before the route.
    await project_services(conn)
    return principal
