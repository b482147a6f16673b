"""`/api/v1/dashboards`: custom dashboards, saved as documents and shared by link.

A dashboard is a title, a default time range and panels. A panel charts one
inference metric under one aggregate for one or more models (one line per model),
or holds a query of any metric by labels (one line per group; see
`dashboard_panels`)::

    {"id": "checkout", "title": "Checkout models", "range": "6h",
     "panels": [{"title": "p95 latency", "metric": "latency", "agg": "p95",
                 "models": ["fraud-v3", "fraud-v4"], "range": "24h"},
                {"title": "CTR by region", "range": null,
                 "query": {"metric": "ranker.ctr", "agg": "mean",
                           "labels": [], "group_by": ["region"]}}]}

``range`` is one of the dashboard's time ranges (15m, 1h, 6h, 24h, 7d); a panel
without one follows the page's range. The page for a saved dashboard is
``/dashboards/{id}``. Stored with `Storage.put_document("dashboard", id, json)`.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from monitorx.core import Conflict, NotFound, ValidationError
from monitorx.core.identifiers import check_identifier
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import StorageDep
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.dashboard_panels import (
    MAX_TITLE,
    PANEL_SCHEMA,
    RANGE_SCHEMA,
    checked_range,
    checked_title,
    panel_from_body,
)
from monitorx.store import Storage

router = APIRouter(prefix="/dashboards", tags=["dashboards"])

DOCUMENT_KIND = "dashboard"
MAX_PANELS = 50

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string", "maxLength": MAX_TITLE},
                        "range": RANGE_SCHEMA,
                        "panels": {"type": "array", "maxItems": MAX_PANELS, "items": PANEL_SCHEMA},
                    },
                }
            }
        },
    }
}


def dashboard_from_body(body: object, dashboard_id: str | None = None) -> dict[str, Any]:
    """The stored form of a dashboard; ValidationError names the offending field."""
    if not isinstance(body, dict):
        raise ValidationError("the body is a JSON object", "body")
    raw_id = body.get("id", dashboard_id)
    if dashboard_id is not None and raw_id != dashboard_id:
        raise ValidationError(f"body id {raw_id!r} differs from the path's", "id")
    if not isinstance(raw_id, str):
        raise ValidationError("required: a string id", "id")
    check_identifier(raw_id, "id")
    panels = body.get("panels", [])
    if not isinstance(panels, list) or len(panels) > MAX_PANELS:
        raise ValidationError(f"a list of at most {MAX_PANELS} panels", "panels")
    return {
        "id": raw_id,
        "title": checked_title(body.get("title"), "title", raw_id),
        "range": checked_range(body.get("range"), "range") or "1h",
        "panels": [panel_from_body(p, i) for i, p in enumerate(panels)],
    }


async def _load(storage: Storage, dashboard_id: str) -> dict[str, Any]:
    body = await storage.get_document(DOCUMENT_KIND, dashboard_id)
    if body is None:
        raise NotFound(f"no dashboard with id {dashboard_id!r}")
    found: dict[str, Any] = orjson.loads(body)
    return found


async def _save(storage: Storage, dashboard: dict[str, Any]) -> bool:
    body = orjson.dumps(dashboard).decode()
    return await storage.put_document(DOCUMENT_KIND, dashboard["id"], body)


@router.post("", status_code=201, responses=ERROR_RESPONSES, openapi_extra=_BODY)
async def create_dashboard(request: Request, storage: StorageDep) -> JSONResponse:
    """Save a new dashboard; 409 if its id exists."""
    dashboard = dashboard_from_body(await read_checked_json(request))
    if await storage.get_document(DOCUMENT_KIND, dashboard["id"]) is not None:
        raise Conflict(f"a dashboard with id {dashboard['id']!r} exists")
    await _save(storage, dashboard)
    return JSONResponse(dashboard, status_code=201)


@router.get("", responses=ERROR_RESPONSES)
async def list_dashboards(storage: StorageDep) -> JSONResponse:
    """Every saved dashboard, oldest first."""
    stored = await storage.list_documents(DOCUMENT_KIND)
    return JSONResponse([orjson.loads(body) for _, body in stored])


@router.get("/{dashboard_id}", responses=ERROR_RESPONSES)
async def get_dashboard(dashboard_id: str, storage: StorageDep) -> JSONResponse:
    return JSONResponse(await _load(storage, dashboard_id))


@router.put("/{dashboard_id}", responses=PUT_RESPONSES, openapi_extra=_BODY)
async def put_dashboard(dashboard_id: str, request: Request, storage: StorageDep) -> JSONResponse:
    """Create (201) or replace (200). A body ``id`` must equal the path's."""
    dashboard = dashboard_from_body(await read_checked_json(request), dashboard_id)
    existed = await storage.get_document(DOCUMENT_KIND, dashboard_id) is not None
    await _save(storage, dashboard)
    return JSONResponse(dashboard, status_code=200 if existed else 201)


@router.delete("/{dashboard_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_dashboard(dashboard_id: str, storage: StorageDep) -> Response:
    if not await storage.delete_document(DOCUMENT_KIND, dashboard_id):
        raise NotFound(f"no dashboard with id {dashboard_id!r}")
    return Response(status_code=204)
