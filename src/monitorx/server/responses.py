"""JSON out: orjson with RFC 3339 UTC timestamps, and the domain → wire conversions."""

from __future__ import annotations

__all__ = ["JSONResponse", "alert_json", "drift_json", "metric_json"]

from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse

from monitorx.core import Alert, DriftMetric, InferenceMetric


class JSONResponse(StarletteJSONResponse):
    """orjson-rendered JSON; aware datetimes come out as ``…Z``. A JSON response to
    FastAPI too, so the OpenAPI document shows each route's response model."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


def metric_json(m: InferenceMetric) -> dict[str, Any]:
    return {
        "model_id": m.model_id,
        "model_type": m.model_type,
        "request_id": m.request_id,
        "latency": m.latency,
        "throughput": m.throughput,
        "error_rate": m.error_rate,
        "error": m.error,
        "resource_usage": m.resource_usage,
        "tags": m.tags,
        "llm": m.llm,
        "timestamp": m.timestamp,
    }


def drift_json(d: DriftMetric) -> dict[str, Any]:
    return {
        "model_id": d.model_id,
        "drift_type": d.drift_type.value,
        "feature": d.feature,
        "score": d.score,
        "confidence": d.confidence,
        "severity": d.severity.value,
        "timestamp": d.timestamp,
    }


def alert_json(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "model_id": a.model_id,
        "alert_type": a.alert_type.value,
        "severity": a.severity.value,
        "status": a.status.value,
        "message": a.message,
        "value": a.value,
        "threshold": a.threshold,
        "timestamp": a.started_at,
        "resolved": a.resolved,
        "resolved_at": a.resolved_at,
        "acknowledged": a.acknowledged,
        "acknowledged_at": a.acknowledged_at,
        "last_breach_at": a.last_breach_at,
        "updated_at": a.updated_at,
        "labels": a.labels,
    }
