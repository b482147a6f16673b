"""`/api/v1/models/{id}/quality*` and `/data-quality*`: model quality from labels,
its thresholds, and the data quality of logged records against the reference.

The objects are described in docs/quality.md; the arithmetic lives in
`monitorx.analysis.quality.model_quality` and `monitorx.analysis.quality.data_quality`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response

from monitorx.analysis.quality.data_quality import DataQualityRules
from monitorx.analysis.quality.model_quality import CLASSIFICATION_METRICS, REGRESSION_METRICS
from monitorx.analysis.quality.thresholds import QualityConfig
from monitorx.core import NotFound, ValidationError
from monitorx.core.identifiers import check_identifier
from monitorx.core.timeparse import parse_duration, parse_timestamp
from monitorx.evaluation.model_documents import ModelDocuments
from monitorx.ingest.feature_tables import decode_json, table_columns, table_from_rows
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import ClockDep, QualityDep, RecordsDep
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.server.routes.params import DEFAULT_RANGE, parse_range

router = APIRouter(prefix="/models", tags=["quality"])
# Each window's metrics are a few scikit-learn calls: a query computes at most so many.
MAX_QUALITY_WINDOWS = 1_000
T = TypeVar("T")


def _body(properties: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON object body itself."""
    schema = {"type": "object", "properties": properties}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_DURATION = {"oneOf": [{"type": "number"}, {"type": "string"}], "description": "e.g. 15m"}
_SHARES = {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}}
_QUALITY_CONFIG = _body(
    {
        "task": {"enum": ["classification", "regression", None]},
        "interval": _DURATION,
        "thresholds": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "<metric>_min or <metric>_max, e.g. accuracy_min, mae_max",
        },
    }
)
_RULES = _body(
    {
        "window": _DURATION,
        "default": _SHARES,
        "features": {"type": "object", "additionalProperties": _SHARES},
    }
)
_ANALYZE = _body(
    {
        "start": {"oneOf": [{"type": "number"}, {"type": "string"}]},
        "end": {"oneOf": [{"type": "number"}, {"type": "string"}]},
        "current": {
            "type": "object",
            "properties": {"rows": {"type": "array", "items": {"type": "object"}}},
        },
    }
)


def _model(model_id: str) -> str:
    return check_identifier(model_id, "model_id")


@router.get("/{model_id}/quality", responses=ERROR_RESPONSES)
async def model_quality(
    model_id: str,
    checks: QualityDep,
    clock: ClockDep,
    start: str | None = None,
    end: str | None = None,
    interval: Annotated[str | None, Query()] = None,
    metric: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """Quality metrics per window of ``interval`` (default: the model's configured
    interval, else 1 h), from the labelled records in ``[start, end)``. With
    ``metric``, one series as ``/metrics/aggregate`` returns it: ``[{"time",
    "value"}]`` in time order, windows where it is undefined left out."""
    if metric is not None and metric not in CLASSIFICATION_METRICS + REGRESSION_METRICS:
        raise ValidationError(
            f"unknown metric {metric[:40]!r}; use one of "
            f"{', '.join(CLASSIFICATION_METRICS + REGRESSION_METRICS)}",
            "metric",
        )
    span = parse_range(start, end, clock.now())
    config = checks.configs.get(_model(model_id))
    interval_s = (
        parse_duration(interval, "interval")
        if interval is not None
        else (config.interval_s if config is not None else QualityConfig().interval_s)
    )
    windows = (span.end - span.start).total_seconds() / interval_s
    if windows > MAX_QUALITY_WINDOWS:
        raise ValidationError(
            f"the range holds {windows:,.0f} windows of this interval; at most "
            f"{MAX_QUALITY_WINDOWS:,} (use a longer interval or a shorter range)",
            "interval",
        )
    series = await checks.series(model_id, span.start, span.end, interval_s)
    if metric is None:
        return JSONResponse(series.to_json(model_id))
    return JSONResponse(
        [
            {"time": w.start, "value": w.metrics[metric]}
            for w in series.windows
            if w.metrics.get(metric) is not None
        ]
    )


async def _put(
    documents: ModelDocuments[T],
    parse: Callable[[object], T],
    dump: Callable[[T], dict[str, object]],
    model_id: str,
    request: Request,
) -> JSONResponse:
    value = parse(await read_checked_json(request))
    created = await documents.put(_model(model_id), value)
    return JSONResponse(dump(value), status_code=201 if created else 200)


def _get(documents: ModelDocuments[T], dump: Callable[[T], Any], model_id: str, what: str) -> Any:
    value = documents.get(_model(model_id))
    if value is None:
        raise NotFound(f"model {model_id!r} has no {what}")
    return dump(value)


@router.put("/{model_id}/quality-config", responses=PUT_RESPONSES, openapi_extra=_QUALITY_CONFIG)
async def put_quality_config(model_id: str, request: Request, quality: QualityDep) -> JSONResponse:
    """Set the model's task, check interval and quality thresholds (201 when new)."""
    configs = quality.configs
    return await _put(configs, QualityConfig.from_json, QualityConfig.to_json, model_id, request)


@router.get("/{model_id}/quality-config", responses=ERROR_RESPONSES)
async def get_quality_config(model_id: str, quality: QualityDep) -> JSONResponse:
    configs = quality.configs
    return JSONResponse(_get(configs, QualityConfig.to_json, model_id, "quality configuration"))


@router.delete("/{model_id}/quality-config", status_code=204, responses=ERROR_RESPONSES)
async def delete_quality_config(model_id: str, quality: QualityDep) -> Response:
    if not await quality.configs.delete(_model(model_id)):
        raise NotFound(f"model {model_id!r} has no quality configuration")
    return Response(status_code=204)


@router.put("/{model_id}/data-quality/rules", responses=PUT_RESPONSES, openapi_extra=_RULES)
async def put_data_quality_rules(
    model_id: str, request: Request, quality: QualityDep
) -> JSONResponse:
    """Set the model's data-quality limits (201 when new)."""
    rules = quality.rules
    return await _put(
        rules, DataQualityRules.from_json, DataQualityRules.to_json, model_id, request
    )


@router.get("/{model_id}/data-quality/rules", responses=ERROR_RESPONSES)
async def get_data_quality_rules(model_id: str, quality: QualityDep) -> JSONResponse:
    rules = quality.rules
    return JSONResponse(_get(rules, DataQualityRules.to_json, model_id, "data-quality rules"))


@router.delete("/{model_id}/data-quality/rules", status_code=204, responses=ERROR_RESPONSES)
async def delete_data_quality_rules(model_id: str, quality: QualityDep) -> Response:
    if not await quality.rules.delete(_model(model_id)):
        raise NotFound(f"model {model_id!r} has no data-quality rules")
    return Response(status_code=204)


@router.post("/{model_id}/data-quality/analyze", responses=ERROR_RESPONSES, openapi_extra=_ANALYZE)
async def analyze_data_quality(
    model_id: str,
    request: Request,
    checks: QualityDep,
    records: RecordsDep,
    clock: ClockDep,
) -> JSONResponse:
    """Data quality against the reference of the logged records in ``{"start"?,
    "end"?}`` (default: the last hour), or of ``{"current": {"rows": [...]}}``
    (masked as the reference was). Breaches of the model's data-quality rules raise
    ``quality`` alerts."""
    _model(model_id)
    body = decode_json(await request.body())
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object", "body")
    if body.get("current") is not None:
        current = body["current"]
        if not isinstance(current, dict):
            raise ValidationError('expected an object {"rows": [...]}', "current")
        rows = current.get("rows")
        table = await asyncio.to_thread(
            lambda: records.as_stored(table_from_rows(rows, "current.rows"))
        )
        columns = await asyncio.to_thread(table_columns, table)
        report = await checks.data_quality(model_id, columns)
    else:
        end = clock.now() if body.get("end") is None else parse_timestamp(body["end"], "end")
        start = (
            end - DEFAULT_RANGE
            if body.get("start") is None
            else parse_timestamp(body["start"], "start")
        )
        if start > end:
            raise ValidationError("start must not be after end", "start")
        report = await checks.window_data_quality(model_id, start, end)
    return JSONResponse(report.to_json())
