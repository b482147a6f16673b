"""`/api/v1/alerts`: list, inspect, resolve and acknowledge alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from monitorx.core import AlertStatus, AlertType, NotFound, Severity
from monitorx.server.deps import EngineDep, NotifierDep, StorageDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse, alert_json
from monitorx.server.routes.params import parse_limit
from monitorx.server.schemas import AlertOut
from monitorx.store import AlertQuery

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=list[AlertOut], responses=ERROR_RESPONSES)
async def list_alerts(
    storage: StorageDep,
    model_id: str | None = None,
    status: Literal["pending", "firing", "resolved"] | None = None,
    severity: Literal["low", "medium", "high", "critical"] | None = None,
    alert_type: Annotated[str | None, Query(max_length=128)] = None,
    limit: int | None = None,
) -> JSONResponse:
    """Alerts, newest first by the time they started firing."""
    known_types = {t.value for t in AlertType}
    if alert_type is not None and alert_type not in known_types:
        return JSONResponse([])
    query = AlertQuery(
        limit=parse_limit(limit),
        model_id=model_id,
        status=None if status is None else AlertStatus(status),
        severity=None if severity is None else Severity(severity),
        alert_type=None if alert_type is None else AlertType(alert_type),
    )
    return JSONResponse([alert_json(a) for a in await storage.list_alerts(query)])


@router.get("/{alert_id}", response_model=AlertOut, responses=ERROR_RESPONSES)
async def get_alert(alert_id: str, storage: StorageDep) -> JSONResponse:
    alert = await storage.get_alert(alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id!r}")
    return JSONResponse(alert_json(alert))


@router.post("/{alert_id}/resolve", response_model=AlertOut, responses=ERROR_RESPONSES)
async def resolve_alert(alert_id: str, engine: EngineDep) -> JSONResponse:
    """Resolve now; a later breach opens a new alert."""
    return JSONResponse(alert_json(await engine.resolve(alert_id)))


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, responses=ERROR_RESPONSES)
async def acknowledge_alert(alert_id: str, engine: EngineDep) -> JSONResponse:
    return JSONResponse(alert_json(await engine.acknowledge(alert_id)))


@router.get("/{alert_id}/notifications", responses=ERROR_RESPONSES)
async def alert_notifications(
    alert_id: str, storage: StorageDep, notifier: NotifierDep
) -> JSONResponse:
    """The delivery log: every attempt to notify about this alert, oldest first —
    channel, group, attempt number, time, outcome (delivered, failed: will be retried,
    gave_up), the receiver's status code and error."""
    if await storage.get_alert(alert_id) is None:
        raise NotFound(f"no alert with id {alert_id!r}")
    return JSONResponse(await notifier.deliveries(alert_id))
