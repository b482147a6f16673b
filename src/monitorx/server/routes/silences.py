"""`/api/v1/silences`: mute matching alerts for a while (Alertmanager's silences)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request

from monitorx.alerting.notify.definitions import silence_from_body, silence_json
from monitorx.alerting.notify.silences import SilenceState
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import AlertingDep, ClockDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse

router = APIRouter(prefix="/silences", tags=["silences"])


@router.post("", status_code=201, responses=ERROR_RESPONSES)
async def create_silence(request: Request, clock: ClockDep, alerting: AlertingDep) -> JSONResponse:
    """``{"matchers": {"model_id": "fraud-v3"} | ['severity=~"low|medium"', ...],
    "starts_at"?, "ends_at" | "duration", "created_by", "comment"}``."""
    now = clock.now()
    silence = silence_from_body(await read_checked_json(request), now)
    await alerting.add_silence(silence)
    return JSONResponse(silence_json(silence, now), status_code=201)


@router.get("")
async def list_silences(
    clock: ClockDep,
    alerting: AlertingDep,
    state: Literal["pending", "active", "expired"] | None = None,
) -> JSONResponse:
    """Silences, newest start first; ``state`` filters."""
    now = clock.now()
    found = alerting.list_silences(None if state is None else SilenceState(state))
    return JSONResponse([silence_json(s, now) for s in found])


@router.get("/{silence_id}", responses=ERROR_RESPONSES)
async def get_silence(silence_id: str, alerting: AlertingDep, clock: ClockDep) -> JSONResponse:
    return JSONResponse(silence_json(alerting.silence(silence_id), clock.now()))


@router.delete("/{silence_id}", responses=ERROR_RESPONSES)
async def expire_silence(silence_id: str, alerting: AlertingDep, clock: ClockDep) -> JSONResponse:
    """Expire now (kept, in state ``expired``, as in Alertmanager); idempotent."""
    silence = await alerting.expire_silence(silence_id)
    return JSONResponse(silence_json(silence, clock.now()))
