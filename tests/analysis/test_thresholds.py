"""Threshold checks over a batch."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from monitorx.analysis.thresholds import MetricArrays, drift_breach, evaluate_thresholds
from monitorx.core import AlertType, DriftMetric, DriftType, Severity, Thresholds

T0_US = int(datetime(2026, 11, 22, tzinfo=UTC).timestamp() * 1_000_000)


def _batch(rows: list[dict[str, float | str]]) -> MetricArrays:
    def column(name: str) -> np.ndarray:
        return np.array([float(r.get(name, np.nan)) for r in rows], dtype=np.float64)

    latency = np.array([float(r.get("latency", 1.0)) for r in rows], dtype=np.float64)
    names = sorted({str(r["model_id"]) for r in rows})
    return MetricArrays(
        model_ids=names,
        model_code=np.array([names.index(str(r["model_id"])) for r in rows], dtype=np.int32),
        ts_us=np.arange(len(rows), dtype=np.int64) + T0_US,
        error=np.zeros(len(rows), dtype=bool),
        values={
            "latency": latency,
            "error_rate": column("error_rate"),
            "gpu_memory_mb": column("gpu_memory_mb"),
            "cpu_percent": column("cpu_percent"),
            "memory_mb": column("memory_mb"),
        },
    )


def test_only_values_strictly_above_breach() -> None:
    batch = _batch([{"model_id": "m", "latency": 100.0}])
    assert evaluate_thresholds(batch, {"m": Thresholds(latency_ms=100)}) == []


def test_the_worst_value_of_a_model_makes_the_breach() -> None:
    batch = _batch(
        [
            {"model_id": "m", "latency": 130.0},
            {"model_id": "m", "latency": 210.0},
            {"model_id": "other", "latency": 999.0},
            {"model_id": "m", "latency": 90.0},
        ]
    )
    (breach,) = evaluate_thresholds(batch, {"m": Thresholds(latency_ms=100)})
    assert breach.model_id == "m"
    assert breach.alert_type is AlertType.LATENCY
    assert breach.value == 210.0
    assert breach.severity is Severity.CRITICAL
    assert "210 ms" in breach.message and "100 ms" in breach.message


def test_resource_and_error_rate_checks() -> None:
    batch = _batch(
        [{"model_id": "m", "gpu_memory_mb": 30_000.0, "cpu_percent": 50.0, "error_rate": 0.2}]
    )
    limits = Thresholds(gpu_memory_mb=20_000, cpu_percent=90, error_rate=0.1)
    found = {(b.alert_type, b.value) for b in evaluate_thresholds(batch, {"m": limits})}
    assert found == {(AlertType.RESOURCE_USAGE, 30_000.0), (AlertType.ERROR_RATE, 0.2)}


def test_points_without_the_value_are_not_checked() -> None:
    batch = _batch([{"model_id": "m"}])
    assert evaluate_thresholds(batch, {"m": Thresholds(gpu_memory_mb=1)}) == []


def test_drift_confidence_above_the_threshold_breaches() -> None:
    metric = DriftMetric(
        model_id="m",
        drift_type=DriftType.DATA,
        confidence=0.9,
        severity=Severity.HIGH,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        feature="amount",
    )
    breach = drift_breach(metric, 0.8)
    assert breach is not None and breach.severity is Severity.HIGH
    assert "amount" in breach.message
    assert drift_breach(metric, 0.9) is None
    assert drift_breach(metric, None) is None
