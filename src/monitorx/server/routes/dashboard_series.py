"""`GET /api/v1/metrics/aggregates`: one aggregate for many models in one request.

The batched form of `GET /metrics/aggregate` that the dashboard's overview,
comparison and custom dashboards use: the same ``metric``, ``agg``, ``interval``,
``start`` and ``end`` (same defaults and rules), and ``model_id`` repeated for each
model (1 to 50). The answer holds each model's buckets, as ``/metrics/aggregate``
would return them, under its id::

    {"interval": 60, "series": {"fraud-v3": [{"time": "…", "value": 41.2}, …], …}}

One request instead of one per model: a page with 20 models makes 2 requests for
its sparklines, not 40, which a browser's six connections per host would queue.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from monitorx.core import MetricName, ValidationError
from monitorx.core.identifiers import check_identifier
from monitorx.core.timeparse import parse_duration
from monitorx.server.deps import ClockDep, HistoryDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.metrics import number_or_text
from monitorx.server.routes.params import AggregationParam, MetricParam, parse_range
from monitorx.store import Aggregation

router = APIRouter(prefix="/metrics", tags=["metrics"])

MAX_MODELS = 50


@router.get("/aggregates", responses=ERROR_RESPONSES)
async def aggregates(
    clock: ClockDep,
    history: HistoryDep,
    model_id: Annotated[list[str], Query()],
    metric: MetricParam = "latency",
    agg: AggregationParam = "mean",
    interval: Annotated[str, Query(description="seconds or e.g. '5m'; default 60")] = "60",
    start: str | None = None,
    end: str | None = None,
) -> JSONResponse:
    """Each model's buckets of one metric and aggregate, keyed by model id."""
    models = list(dict.fromkeys(model_id))
    if not 1 <= len(models) <= MAX_MODELS:
        raise ValidationError(f"give 1 to {MAX_MODELS} model ids", "model_id")
    for name in models:
        check_identifier(name, "model_id")
    interval_s = parse_duration(number_or_text(interval), "interval")
    span = parse_range(start, end, clock.now())
    results = await asyncio.gather(
        *(
            history.aggregate(
                name, MetricName(metric), Aggregation(agg), interval_s, span.start, span.end
            )
            for name in models
        )
    )
    return JSONResponse(
        {
            # The bucket width used: wider than asked where rollups answered.
            "interval": max(r.interval_s for r in results),
            "series": {
                name: [{"time": b.time, "value": b.value} for b in result.buckets]
                for name, result in zip(models, results, strict=True)
            },
        }
    )
