"""Threshold checks over a batch of metrics: which values breach which limits.

Pure functions over columns; the alert engine decides what a breach does.
"""

from __future__ import annotations

__all__ = ["MetricArrays", "drift_breach", "error_rate_breach", "evaluate_thresholds"]

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from monitorx.core import AlertType, Breach, DriftMetric, Thresholds
from monitorx.core.severity import severity_for_confidence, severity_for_ratio
from monitorx.core.timeparse import EPOCH

# (column in the batch, threshold field, alert type, words for the message)
_CHECKS = (
    ("latency", "latency_ms", AlertType.LATENCY, "latency", "ms"),
    ("error_rate", "error_rate", AlertType.ERROR_RATE, "error rate", ""),
    ("gpu_memory_mb", "gpu_memory_mb", AlertType.RESOURCE_USAGE, "GPU memory", "MB"),
    ("cpu_percent", "cpu_percent", AlertType.RESOURCE_USAGE, "CPU", "%"),
    ("memory_mb", "memory_mb", AlertType.RESOURCE_USAGE, "memory", "MB"),
)


def _fmt(value: float, unit: str) -> str:
    text = f"{value:.4g}" if unit == "" else f"{value:,.1f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip() if unit not in ("", "%") else f"{text}{unit}"


def _message(what: str, value: float, threshold: float, unit: str, model_id: str) -> str:
    return (
        f"{what} {_fmt(value, unit)} is above the {_fmt(threshold, unit)} threshold "
        f"on model {model_id}"
    )


@dataclass(frozen=True, slots=True)
class MetricArrays:
    """A batch as numpy columns: one entry per metric, NaN where a value is absent.
    Models are coded: ``model_ids[model_code[i]]`` is row i's model."""

    model_ids: list[str]
    model_code: npt.NDArray[np.int32]
    ts_us: npt.NDArray[np.int64]
    error: npt.NDArray[np.bool_]
    values: Mapping[str, npt.NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.ts_us)


def evaluate_thresholds(batch: MetricArrays, thresholds: Mapping[str, Thresholds]) -> list[Breach]:
    """The breaches in ``batch`` of each model's thresholds: per model and check, the worst.

    A breach is a value strictly above its threshold. Points without the value are
    not checked. Models absent from ``thresholds`` have no checks.
    """
    if not thresholds or len(batch) == 0:
        return []
    breaches: list[Breach] = []
    for code, model_id in enumerate(batch.model_ids):
        if model_id not in thresholds or thresholds[model_id].is_empty():
            continue
        rows = np.flatnonzero(batch.model_code == code)
        if rows.size == 0:
            continue
        limits = thresholds[model_id]
        for column, limit_name, alert_type, what, unit in _CHECKS:
            limit = getattr(limits, limit_name)
            if limit is None:
                continue
            values = batch.values[column][rows]
            over = np.flatnonzero(values > limit)
            if over.size == 0:
                continue
            worst = int(over[np.argmax(values[over])])
            value = float(values[worst])
            observed = EPOCH + timedelta(microseconds=int(batch.ts_us[rows[worst]]))
            breaches.append(
                Breach(
                    model_id=model_id,
                    alert_type=alert_type,
                    severity=severity_for_ratio(value, limit),
                    value=value,
                    threshold=float(limit),
                    message=_message(what, value, limit, unit, model_id),
                    observed_at=observed,
                )
            )
    return breaches


def error_rate_breach(
    model_id: str, rate: float, count: int, limit: float, window_s: float, observed_at: datetime
) -> Breach | None:
    """The model's error rate over a recent window, checked against its threshold."""
    if rate <= limit:
        return None
    return Breach(
        model_id=model_id,
        alert_type=AlertType.ERROR_RATE,
        severity=severity_for_ratio(rate, limit),
        value=rate,
        threshold=limit,
        message=(
            f"error rate {rate:.1%} over the last {window_s:g} s ({count} requests) is above "
            f"the {limit:.1%} threshold on model {model_id}"
        ),
        observed_at=observed_at,
    )


def drift_breach(metric: DriftMetric, limit: float | None) -> Breach | None:
    """A reported drift confidence strictly above the model's ``drift_confidence``."""
    if limit is None or metric.confidence <= limit:
        return None
    feature = f" on feature {metric.feature}" if metric.feature else ""
    return Breach(
        model_id=metric.model_id,
        alert_type=AlertType.DRIFT,
        severity=metric.severity or severity_for_confidence(metric.confidence),
        value=metric.confidence,
        threshold=limit,
        message=(
            f"{metric.drift_type.value} drift{feature}: confidence {metric.confidence:.2f} is "
            f"above the {limit:.2f} threshold on model {metric.model_id}"
        ),
        observed_at=metric.timestamp,
    )
