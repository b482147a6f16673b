"""`/api/v1/routes`: which alerts go to which channels, grouped how, escalated when.

API.md's routes are the children of Alertmanager's root route, tried in the order
they were created; ``continue`` lets an alert go on to later routes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from monitorx.alerting.notify.definitions import RouteRecord
from monitorx.core import Conflict
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import AlertingDep
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse

router = APIRouter(prefix="/routes", tags=["routes"])


@router.post("", status_code=201, responses=ERROR_RESPONSES)
async def create_route(request: Request, alerting: AlertingDep) -> JSONResponse:
    """``{"id", "matchers"?, "channels", "group_by"?, "group_wait"?, "group_interval"?,
    "repeat_interval"?, "continue"?, "escalate"?: [{"after": "15m", "channels": [...]}]}``."""
    record = RouteRecord.from_body(await read_checked_json(request))
    if record.id in alerting.routes:
        raise Conflict(f"route {record.id!r} already exists; use PUT /api/v1/routes/{record.id}")
    await alerting.put_route(record)
    return JSONResponse(record.body, status_code=201)


@router.get("")
async def list_routes(alerting: AlertingDep) -> JSONResponse:
    """Routes in the order they are tried."""
    return JSONResponse([r.body for r in alerting.routes.values()])


@router.get("/{route_id}", responses=ERROR_RESPONSES)
async def get_route(route_id: str, alerting: AlertingDep) -> JSONResponse:
    return JSONResponse(alerting.route(route_id).body)


@router.put("/{route_id}", responses=PUT_RESPONSES)
async def put_route(route_id: str, request: Request, alerting: AlertingDep) -> JSONResponse:
    """Create (201) or replace (200); a replaced route keeps its place in the order."""
    record = RouteRecord.from_body(await read_checked_json(request), route_id)
    created = await alerting.put_route(record)
    return JSONResponse(record.body, status_code=201 if created else 200)


@router.delete("/{route_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_route(route_id: str, alerting: AlertingDep) -> Response:
    await alerting.delete_route(route_id)
    return Response(status_code=204)
