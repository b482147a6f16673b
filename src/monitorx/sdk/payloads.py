"""JSON bodies as API.md defines them, built from the SDK's keyword arguments.

Values that are None are left out, so the server applies its defaults. Timestamps
may be datetimes (naive means UTC) or epoch seconds; datetimes go out as RFC 3339.
The ``llm`` object's fields are checked in llm.py.
"""

from __future__ import annotations

__all__ = [
    "JSONObject",
    "Timestamp",
    "drift_metric",
    "encode_json",
    "inference_metric",
    "model_config",
    "normalize_metric",
    "timestamp_value",
]

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias

from monitorx.core.errors import ValidationError
from monitorx.sdk.llm import llm_body

JSONObject: TypeAlias = dict[str, Any]
Timestamp: TypeAlias = datetime | float | int | str


def timestamp_value(value: Timestamp, field: str = "timestamp") -> str | float:
    """A timestamp as the API takes it: RFC 3339 in UTC, or epoch seconds as given."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        raise ValidationError("expected a datetime or epoch seconds, got a boolean", field)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValidationError("epoch seconds must be finite", field)
        return float(value)
    if isinstance(value, str):
        return value
    raise ValidationError(
        f"expected a datetime or epoch seconds, got {type(value).__name__}", field
    )


def _without_none(fields: Mapping[str, Any]) -> JSONObject:
    return {key: value for key, value in fields.items() if value is not None}


def normalize_metric(metric: Mapping[str, Any]) -> JSONObject:
    """A copy of a metric mapping ready to send: Nones dropped, timestamp converted."""
    body = _without_none(metric)
    if "timestamp" in body:
        body["timestamp"] = timestamp_value(body["timestamp"])
    return body


def inference_metric(
    *,
    model_id: str,
    latency: float,
    model_type: str | None = None,
    throughput: float | None = None,
    error_rate: float | None = None,
    error: bool = False,
    resource_usage: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    request_id: str | None = None,
    timestamp: Timestamp | None = None,
    llm: Mapping[str, float | None] | None = None,
) -> JSONObject:
    """An ``InferenceMetric`` body (API.md).

    ``llm`` holds ``prompt_tokens``, ``completion_tokens``, ``time_to_first_token_ms``
    and ``cost_usd``, each optional; a bad one is a :class:`ValidationError` naming it.
    """
    return normalize_metric(
        {
            "model_id": model_id,
            "model_type": model_type,
            "request_id": request_id,
            "latency": latency,
            "throughput": throughput,
            "error_rate": error_rate,
            "error": error or None,
            "resource_usage": dict(resource_usage) if resource_usage is not None else None,
            "tags": dict(tags) if tags is not None else None,
            "llm": llm_body(llm),
            "timestamp": timestamp,
        }
    )


def drift_metric(
    *,
    model_id: str,
    drift_type: str,
    confidence: float,
    feature: str | None = None,
    score: float | None = None,
    severity: str | None = None,
    timestamp: Timestamp | None = None,
) -> JSONObject:
    """A ``DriftMetric`` body (API.md)."""
    return normalize_metric(
        {
            "model_id": model_id,
            "drift_type": drift_type,
            "feature": feature,
            "score": score,
            "confidence": confidence,
            "severity": severity,
            "timestamp": timestamp,
        }
    )


def model_config(
    *,
    model_type: str,
    name: str | None = None,
    version: str | None = None,
    environment: str | None = None,
    thresholds: Mapping[str, float | None] | None = None,
    tags: Mapping[str, str] | None = None,
) -> JSONObject:
    """A ``ModelConfig`` body for ``PUT /models/{id}`` (the id is in the path)."""
    return _without_none(
        {
            "model_type": model_type,
            "name": name,
            "version": version,
            "environment": environment,
            "thresholds": dict(thresholds) if thresholds is not None else None,
            "tags": dict(tags) if tags is not None else None,
        }
    )


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return timestamp_value(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_json(value: object) -> bytes:
    """Compact JSON bytes; a NaN, an infinity or an unserializable value is a ValidationError.

    The server refuses non-finite numbers too, but ``json.dumps`` would write them as
    invalid JSON (``NaN``), so they are caught here, before anything is sent.
    """
    try:
        return json.dumps(
            value, allow_nan=False, separators=(",", ":"), ensure_ascii=False, default=_default
        ).encode()
    except ValueError as exc:
        if "float" in str(exc):  # json's "Out of range float values are not JSON compliant"
            raise ValidationError(
                "numbers must be finite (NaN and Infinity are not valid JSON)"
            ) from exc
        raise ValidationError(f"not JSON serializable: {exc}") from exc
    except (TypeError, RecursionError) as exc:
        raise ValidationError(f"not JSON serializable: {exc}") from exc
