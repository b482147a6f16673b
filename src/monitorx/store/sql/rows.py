"""Conversion between stored rows (DuckDB and PostgreSQL) and the domain objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from monitorx.core import (
    LLM_FIELDS,
    LLM_TOKEN_FIELDS,
    RESOURCE_FIELDS,
    Alert,
    AlertStatus,
    AlertType,
    DriftMetric,
    DriftType,
    Environment,
    InferenceMetric,
    ModelConfig,
    ModelType,
    Severity,
    Thresholds,
)

METRIC_COLUMNS = (
    "model_id, model_type, request_id, ts, latency, throughput, error_rate, error, "
    "gpu_memory_mb, gpu_utilization, cpu_percent, memory_mb, tags, "
    "prompt_tokens, completion_tokens, time_to_first_token_ms, cost_usd"
)
DRIFT_COLUMNS = "model_id, drift_type, feature, score, confidence, severity, ts"
ALERT_COLUMNS = (
    "id, model_id, alert_type, severity, status, message, value, threshold, started_at, "
    "last_breach_at, updated_at, resolved_at, acknowledged, acknowledged_at, labels"
)


def utc(when: datetime) -> datetime:
    """A stored naive timestamp, which holds UTC, as an aware datetime."""
    return when.replace(tzinfo=UTC)


def naive_utc(when: datetime) -> datetime:
    """An aware datetime as the naive UTC value the store keeps."""
    return when.astimezone(UTC).replace(tzinfo=None)


def _naive_or_none(when: datetime | None) -> datetime | None:
    return None if when is None else when.astimezone(UTC).replace(tzinfo=None)


def metric_from_row(row: tuple[Any, ...]) -> InferenceMetric:
    """An ``InferenceMetric`` from a row in ``METRIC_COLUMNS`` order."""
    (mid, mtype, rid, ts, lat, thr, err_rate, err, *resources, tags) = row[:13]
    llm = row[13:]
    return InferenceMetric(
        model_id=mid,
        model_type=mtype,
        request_id=rid,
        timestamp=utc(ts),
        latency=lat,
        throughput=thr,
        error_rate=err_rate,
        error=bool(err),
        resource_usage={
            name: value
            for name, value in zip(RESOURCE_FIELDS, resources, strict=True)
            if value is not None
        },
        tags=orjson.loads(tags) if tags else {},
        llm={
            name: _llm_value(name, value)
            for name, value in zip(LLM_FIELDS, llm, strict=True)
            if value is not None
        },
    )


def _llm_value(name: str, value: Any) -> float:
    """Token counts come back as ints whatever the backend kept (InfluxDB's JSON may
    hand back 812.0)."""
    return int(value) if name in LLM_TOKEN_FIELDS else float(value)


def drift_to_row(metric: DriftMetric) -> list[object]:
    return [
        metric.model_id,
        metric.drift_type.value,
        metric.feature,
        metric.score,
        metric.confidence,
        metric.severity.value,
        _naive_or_none(metric.timestamp),
    ]


def drift_from_row(row: tuple[Any, ...]) -> DriftMetric:
    mid, dtype, feature, score, confidence, severity, ts = row
    return DriftMetric(
        model_id=mid,
        drift_type=DriftType(dtype),
        feature=feature,
        score=score,
        confidence=confidence,
        severity=Severity(severity),
        timestamp=utc(ts),
    )


def model_to_json(model: ModelConfig) -> str:
    return orjson.dumps(model.to_dict()).decode()


def model_from_json(text: str) -> ModelConfig:
    data = orjson.loads(text)
    return ModelConfig(
        id=data["id"],
        name=data["name"],
        model_type=ModelType(data["model_type"]),
        version=data["version"],
        environment=Environment(data["environment"]),
        thresholds=Thresholds(**data["thresholds"]),
        tags=data["tags"],
    )


# An alert of no model keeps "" in the (NOT NULL) column: no model id is empty.
_NO_MODEL = ""


def alert_to_row(alert: Alert) -> list[object]:
    return [
        alert.id,
        _NO_MODEL if alert.model_id is None else alert.model_id,
        alert.alert_type.value,
        alert.severity.value,
        alert.status.value,
        alert.message,
        alert.value,
        alert.threshold,
        _naive_or_none(alert.started_at),
        _naive_or_none(alert.last_breach_at),
        _naive_or_none(alert.updated_at),
        _naive_or_none(alert.resolved_at),
        alert.acknowledged,
        _naive_or_none(alert.acknowledged_at),
        orjson.dumps(alert.labels).decode(),
    ]


def alert_from_row(row: tuple[Any, ...]) -> Alert:
    (aid, mid, atype, sev, status, msg, value, threshold, started, last, updated, resolved,
     acked, acked_at, labels) = row  # fmt: skip
    return Alert(
        id=aid,
        model_id=mid or None,
        alert_type=AlertType(atype),
        severity=Severity(sev),
        status=AlertStatus(status),
        message=msg,
        value=value,
        threshold=threshold,
        started_at=utc(started),
        last_breach_at=utc(last),
        updated_at=utc(updated),
        resolved_at=None if resolved is None else utc(resolved),
        acknowledged=bool(acked),
        acknowledged_at=None if acked_at is None else utc(acked_at),
        labels=orjson.loads(labels),
    )
