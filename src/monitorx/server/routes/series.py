"""The open data model over HTTP: `POST /api/v1/metrics/custom`, and the queries of
any metric by labels — `GET /api/v1/metrics/query` and `GET /api/v1/metrics/names`.

An inference metric's ``tags`` and ``model_id`` are its labels; a custom metric's
labels are its own. ``label`` takes ``key:value`` (the label equals the value) or
``key!:value`` (it does not), repeatable, all must hold; ``group_by`` is a
comma-separated list of label keys.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from monitorx.core import MetricName, ValidationError
from monitorx.core.timeparse import from_epoch_us, parse_duration
from monitorx.server.deps import (
    ClockDep,
    CustomDep,
    IngestDep,
    LabelKeysDep,
    MetricQueriesDep,
)
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.metrics import INTERVAL_HEADER, RESOLUTION_HEADER, number_or_text
from monitorx.server.routes.params import parse_range
from monitorx.server.schemas import BatchAccepted
from monitorx.store import QueryAggregation
from monitorx.store.samples.catalog import LabelMatcher

router = APIRouter(prefix="/metrics", tags=["custom metrics"])

_SAMPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z][A-Za-z0-9_:.]{0,199}$",
            "description": "not an inference metric's name",
        },
        "value": {"type": "number"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "unit": {"type": "string", "maxLength": 32},
        "timestamp": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]},
    },
}
_SAMPLES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "maxItems": 10_000, "items": _SAMPLE_SCHEMA}
            }
        },
    }
}


def parse_matchers(values: list[str]) -> list[LabelMatcher]:
    """``key:value`` / ``key!:value`` matchers."""
    matchers = []
    for text in values:
        key, sep, value = text.partition(":")
        if not sep or not key or key == "!":
            raise ValidationError(f"expected key:value or key!:value, got {text[:60]!r}", "label")
        negate = key.endswith("!")
        matchers.append(LabelMatcher(key.removesuffix("!"), value, negate))
    return matchers


def parse_group_by(value: str | None) -> list[str]:
    if not value:
        return []
    keys = [k.strip() for k in value.split(",")]
    if any(not k for k in keys):
        raise ValidationError(
            "expected comma-separated label keys, e.g. region,model_id", "group_by"
        )
    return list(dict.fromkeys(keys))


@router.post(
    "/custom",
    status_code=202,
    response_model=BatchAccepted,
    responses=ERROR_RESPONSES,
    openapi_extra=_SAMPLES_BODY,
)
async def ingest_samples(request: Request, ingest: IngestDep) -> JSONResponse:
    """Store up to 10,000 samples of custom metrics. Valid samples are stored even when
    others are rejected (a sample that would open a series past its metric's limit
    is rejected like an invalid one); 422 when none is stored."""
    outcome = await ingest.samples(await request.body())
    rejected = [{"index": r.index, "error": r.error} for r in outcome.rejected]
    if outcome.accepted == 0:
        return JSONResponse(
            {
                "error": "validation_error",
                "detail": f"none of the {len(rejected)} samples was stored",
                "accepted": 0,
                "rejected": rejected,
            },
            status_code=422,
        )
    return JSONResponse({"accepted": outcome.accepted, "rejected": rejected}, status_code=202)


@router.get("/names", responses=ERROR_RESPONSES)
async def metric_names(custom: CustomDep, label_keys: LabelKeysDep) -> JSONResponse:
    """Every metric a query can name: the inference metrics (labels: ``model_id`` and
    the tag keys seen in the last 7 days) and each custom metric (with its unit and the
    label keys of its series written in the last 7 days)."""
    tag_keys = sorted({"model_id", *label_keys.keys()})
    found: list[dict[str, Any]] = [
        {"name": m.value, "kind": "inference", "unit": _UNITS.get(m), "labels": tag_keys}
        for m in MetricName
    ]
    found += [
        {"name": m.name, "kind": "custom", "unit": m.unit, "labels": m.label_keys}
        for m in custom.metrics()
    ]
    return JSONResponse(found)


_UNITS = {
    MetricName.LATENCY: "ms",
    MetricName.THROUGHPUT: "requests/s",
    MetricName.ERROR_RATE: "ratio",
    MetricName.GPU_MEMORY_MB: "MB",
    MetricName.GPU_UTILIZATION: "percent",
    MetricName.CPU_PERCENT: "percent",
    MetricName.MEMORY_MB: "MB",
    MetricName.PROMPT_TOKENS: "tokens",
    MetricName.COMPLETION_TOKENS: "tokens",
    MetricName.TIME_TO_FIRST_TOKEN_MS: "ms",
    MetricName.COST_USD: "USD",
}


@router.get("/query", responses=ERROR_RESPONSES)
async def query(
    clock: ClockDep,
    queries: MetricQueriesDep,
    metric: Annotated[str, Query(description="an inference metric or a custom metric's name")],
    agg: Annotated[QueryAggregation, Query()] = QueryAggregation.MEAN,
    interval: Annotated[str, Query(description="seconds or e.g. '5m'; default 60")] = "60",
    start: str | None = None,
    end: str | None = None,
    model_id: str | None = None,
    label: Annotated[list[str] | None, Query(description="key:value or key!:value")] = None,
    group_by: Annotated[str | None, Query(description="label keys, comma-separated")] = None,
) -> JSONResponse:
    """One series per group of ``group_by`` label values (one with ``{}`` without it),
    sorted by labels, each a point per non-empty bucket. ``rate`` is the per-second
    increase of a cumulative series, counter resets handled; percentiles are exact
    over raw points. Old ranges come from rollups: ``X-MonitorX-Resolution`` says which
    tier answered, ``X-MonitorX-Interval`` the bucket width used."""
    interval_s = parse_duration(number_or_text(interval), "interval")
    span = parse_range(start, end, clock.now())
    matchers = parse_matchers(label or [])
    keys = parse_group_by(group_by)
    result = await queries.query(
        metric, agg, interval_s, span.start, span.end, matchers, keys, model_id
    )
    body = {
        "metric": metric,
        "agg": agg.value,
        "interval": result.interval_s,
        "series": [
            {
                "labels": s.labels,
                "points": [{"time": _time(t), "value": v} for t, v in s.points],
            }
            for s in result.series
        ],
    }
    headers = {
        RESOLUTION_HEADER: result.resolution.value,
        INTERVAL_HEADER: f"{result.interval_s:g}",
    }
    return JSONResponse(body, headers=headers)


def _time(us: int) -> str:
    return from_epoch_us(us).isoformat().replace("+00:00", "Z")
