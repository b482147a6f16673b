"""What routes depend on: the wired services and the caller's identity."""

from __future__ import annotations

__all__ = ["AdminAccess", "ReadAccess", "Services", "ServicesDep", "WriteAccess"]

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from monitorx.alerting.alerting_config import AlertingConfig
from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.notifier import Notifier
from monitorx.alerting.profile_catalog import ThresholdProfileCatalog
from monitorx.alerting.rule_catalog import RuleCatalog
from monitorx.alerting.slo_catalog import SLOCatalog
from monitorx.core import Clock
from monitorx.ingest.pool import BatchDecoder
from monitorx.server.auth import Authenticator, Principal, Role
from monitorx.server.concept_drift_feed import ConceptDriftFeed
from monitorx.server.drift_analyzer import DriftAnalyzer
from monitorx.server.drift_data import DriftData
from monitorx.server.drift_runs import ScheduledDriftRuns
from monitorx.server.evaluation import Evaluator
from monitorx.server.live import LiveHub
from monitorx.server.quality_checks import QualityChecks
from monitorx.server.registry import ModelRegistry
from monitorx.server.settings import Settings
from monitorx.store import DataLifecycle, Storage, TieredReads


@dataclass
class Services:
    """Everything a request may use, built once by `create_app`."""

    settings: Settings
    storage: Storage
    clock: Clock
    registry: ModelRegistry
    engine: AlertEngine
    evaluator: Evaluator
    auth: Authenticator
    decoder: BatchDecoder
    lifecycle: DataLifecycle
    history: TieredReads
    alerting: AlertingConfig
    notifier: Notifier
    rules: RuleCatalog | None = None
    threshold_profiles: ThresholdProfileCatalog | None = None
    slos: SLOCatalog | None = None
    concept_drift: ConceptDriftFeed | None = None
    live: LiveHub | None = None
    quality: QualityChecks | None = None
    drift_runs: ScheduledDriftRuns | None = None
    drift_data: DriftData | None = None
    drift_analyzer: DriftAnalyzer | None = None


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


def _access(role: Role) -> object:
    # async so that FastAPI runs it on the loop, not in a worker thread per request.
    async def check(request: Request, services: ServicesDep) -> Principal:
        principal = services.auth.authenticate(request)
        services.auth.require(principal, role)
        return principal

    return Depends(check)


ReadAccess = Annotated[Principal, _access(Role.READ)]
WriteAccess = Annotated[Principal, _access(Role.WRITE)]
AdminAccess = Annotated[Principal, _access(Role.ADMIN)]
