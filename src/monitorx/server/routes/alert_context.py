"""`/api/v1/alerts/{id}/context`: what happened around an alert, ranked
(evaluation.alert_context, docs/events-and-logs.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from monitorx.core import NotFound
from monitorx.evaluation.alert_context import AlertContext
from monitorx.server.deps import ClockDep, StorageDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse

router = APIRouter(prefix="/alerts", tags=["alerts"])


class AlertContextOut(BaseModel):
    alert_id: str
    model_id: str | None
    alert_type: str
    started_at: str
    window: dict[str, str]
    hint: str | None
    events: list[dict[str, Any]]
    related_alerts: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    logs: list[dict[str, Any]]
    links: dict[str, str]


@router.get("/{alert_id}/context", response_model=AlertContextOut, responses=ERROR_RESPONSES)
async def alert_context(alert_id: str, storage: StorageDep, clock: ClockDep) -> JSONResponse:
    """Events on the alert's model before and during it, other alerts open around
    its start, the tag values over-represented among its breaching points (with
    both shares), error logs around its start, and links to each."""
    alert = await storage.get_alert(alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id!r}")
    return JSONResponse(await AlertContext(storage, clock).context(alert))
