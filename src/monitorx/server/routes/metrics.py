"""`/api/v1/metrics/inference` and `/api/v1/metrics/aggregate`.

Writes read the raw body and parse it with msgspec (``monitorx.ingest``): the
pydantic schemas named in ``openapi_extra`` describe the same shapes for the docs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from monitorx.core import MetricName, ValidationError
from monitorx.core.timeparse import parse_duration
from monitorx.ingest.service import IngestService
from monitorx.server.deps import (
    ClockDep,
    HistoryDep,
    IngestDep,
    StorageDep,
)
from monitorx.server.openapi import ERROR_RESPONSES, json_body
from monitorx.server.responses import JSONResponse, metric_json
from monitorx.server.routes.params import AggregationParam, MetricParam, parse_limit, parse_range
from monitorx.server.schemas import (
    Accepted,
    BatchAccepted,
    BucketOut,
    InferenceMetricOut,
)
from monitorx.store import Aggregation, MetricQuery

router = APIRouter(prefix="/metrics", tags=["metrics"])


async def accept_metric(ingest: IngestService, body: bytes) -> JSONResponse:
    """Store one metric; 202 once it is durable (also the fast path's answer)."""
    await ingest.metric(body)
    return JSONResponse({"accepted": 1}, status_code=202)


async def accept_batch(ingest: IngestService, body: bytes) -> JSONResponse:
    """Store the valid items of a batch; 422 when none is valid."""
    outcome = await ingest.metric_batch(body)
    rejected = [{"index": r.index, "error": r.error} for r in outcome.rejected]
    if outcome.accepted == 0:
        return JSONResponse(
            {
                "error": "validation_error",
                "detail": f"none of the {len(rejected)} metrics is valid",
                "accepted": 0,
                "rejected": rejected,
            },
            status_code=422,
        )
    return JSONResponse({"accepted": outcome.accepted, "rejected": rejected}, status_code=202)


# Which tier answered an aggregate (raw, 1m or 1h rollups) and the bucket width it
# used: ranges older than the raw retention come from rollups (docs/storage.md).
RESOLUTION_HEADER = "X-MonitorX-Resolution"
INTERVAL_HEADER = "X-MonitorX-Interval"


@router.post(
    "/inference",
    status_code=202,
    response_model=Accepted,
    responses=ERROR_RESPONSES,
    openapi_extra=json_body("InferenceMetricIn"),
)
async def ingest_metric(request: Request, ingest: IngestDep) -> JSONResponse:
    """Store one inference metric; 202 once it is durable."""
    return await accept_metric(ingest, await request.body())


@router.post(
    "/inference/batch",
    status_code=202,
    response_model=BatchAccepted,
    responses=ERROR_RESPONSES,
    openapi_extra=json_body("InferenceMetricIn", array=True),
)
async def ingest_batch(request: Request, ingest: IngestDep) -> JSONResponse:
    """Store up to 10,000 metrics. Valid items are stored even when others are rejected;
    422 when none is valid."""
    return await accept_batch(ingest, await request.body())


@router.get("/inference", response_model=list[InferenceMetricOut], responses=ERROR_RESPONSES)
async def list_metrics(
    clock: ClockDep,
    storage: StorageDep,
    model_id: str | None = None,
    start: Annotated[str | None, Query(description="inclusive; RFC 3339 or epoch s")] = None,
    end: Annotated[str | None, Query(description="exclusive; default now")] = None,
    limit: Annotated[int | None, Query(description="1–10,000; default 100")] = None,
) -> JSONResponse:
    """Stored metrics, newest first."""
    span = parse_range(start, end, clock.now())
    query = MetricQuery(span.start, span.end, parse_limit(limit), model_id)
    metrics = await storage.query_metrics(query)
    return JSONResponse([metric_json(m) for m in metrics])


@router.get("/aggregate", response_model=list[BucketOut], responses=ERROR_RESPONSES)
async def aggregate(
    clock: ClockDep,
    history: HistoryDep,
    model_id: str,
    metric: MetricParam = "latency",
    agg: AggregationParam = "mean",
    interval: Annotated[str, Query(description="seconds or e.g. '5m'; default 60")] = "60",
    start: str | None = None,
    end: str | None = None,
) -> JSONResponse:
    """One value per bucket; buckets start at multiples of ``interval`` since the epoch.
    Empty buckets are omitted; points without the metric are left out.

    Ranges that start before the raw retention are answered from rollups (percentiles
    then come from mergeable sketches); ``X-MonitorX-Resolution`` says which tier
    answered (``raw``, ``1m``, ``1h``), ``X-MonitorX-Interval`` the bucket width used."""
    interval_s = parse_duration(number_or_text(interval), "interval")
    span = parse_range(start, end, clock.now())
    if not model_id:
        raise ValidationError("is required", "model_id")
    result = await history.aggregate(
        model_id, MetricName(metric), Aggregation(agg), interval_s, span.start, span.end
    )
    return JSONResponse(
        [{"time": b.time, "value": b.value} for b in result.buckets],
        headers={
            RESOLUTION_HEADER: result.resolution.value,
            INTERVAL_HEADER: f"{result.interval_s:g}",
        },
    )


def number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value
