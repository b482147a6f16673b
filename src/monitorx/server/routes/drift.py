"""`/api/v1/metrics/drift`: drift figures computed and reported by clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from monitorx.server.deps import ClockDep, IngestDep, StorageDep
from monitorx.server.openapi import ERROR_RESPONSES, json_body
from monitorx.server.responses import JSONResponse, drift_json
from monitorx.server.routes.params import parse_limit, parse_range
from monitorx.server.schemas import Accepted, DriftMetricOut
from monitorx.store import MetricQuery

router = APIRouter(prefix="/metrics", tags=["drift"])


@router.post(
    "/drift",
    status_code=202,
    response_model=Accepted,
    responses=ERROR_RESPONSES,
    openapi_extra=json_body("DriftMetricIn"),
)
async def ingest_drift(request: Request, ingest: IngestDep) -> JSONResponse:
    """Store a drift metric; severity is computed from confidence when absent."""
    await ingest.drift(await request.body())
    return JSONResponse({"accepted": 1}, status_code=202)


@router.get("/drift", response_model=list[DriftMetricOut], responses=ERROR_RESPONSES)
async def list_drift(
    clock: ClockDep,
    storage: StorageDep,
    model_id: str | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: Annotated[int | None, Query()] = None,
) -> JSONResponse:
    """Reported drift metrics, newest first."""
    span = parse_range(start, end, clock.now())
    found = await storage.query_drift(
        MetricQuery(span.start, span.end, parse_limit(limit), model_id)
    )
    return JSONResponse([drift_json(d) for d in found])
