"""Seeded random data for the conformance suite, and the instants it lies around.

Everything a generator returns is what a client could send: identifiers of every
character API.md admits, non-ASCII tags, optional fields absent on some points.
What a store must make of it is computed in `expected`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from datasketches import kll_doubles_sketch

from monitorx.core import (
    Alert,
    AlertStatus,
    AlertType,
    DriftMetric,
    DriftType,
    MetricColumns,
    MetricName,
    Severity,
)
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import ROLLUP_SCHEMA

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The clock during every test, just after all the data tests write: the first
# instant of April 2026 is a UTC midnight and a month boundary, so data in the
# hours before NOW crosses both.
MIDNIGHT = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
# Identifiers use every character API.md admits besides letters and digits.
MODELS = ("fraud-v3", "chat.llm:2", "vision_x")
MODEL_TYPES = (None, "tabular", "llm", "cv")
# Tag sets a user may send: non-ASCII, and the characters line protocols and
# query languages escape (space, comma, equals, quotes, backslash), an empty value.
TAG_SETS: tuple[dict[str, str], ...] = (
    {"region": "eu"},
    {"région": "Zürich", "team": "risk"},
    {"emoji": "🚀 launch", "city": "東京"},
    {"note": 'a b,c=d "q" \\ end', "empty": ""},
)
# How often each optional field is present; every metric lacks it on some points.
_PRESENT = {
    "throughput": 0.6,
    "error_rate": 0.5,
    "gpu_memory_mb": 0.4,
    "gpu_utilization": 0.35,
    "cpu_percent": 0.8,
    "memory_mb": 0.15,
    "tags": 0.7,
    "prompt_tokens": 0.3,
    "completion_tokens": 0.25,
    "time_to_first_token_ms": 0.2,
    "cost_usd": 0.3,
}
_ERROR_SHARE = 0.1

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def at(micros: int) -> datetime:
    """The aware UTC instant ``micros`` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=int(micros))


def us(when: datetime) -> int:
    """Microseconds since the epoch (the unit of `MetricColumns.ts_us`)."""
    return to_epoch_us(when)


# Inference metrics ---------------------------------------------------------------


def unique_times_us(rng: np.random.Generator, n: int, start: datetime, span_s: float) -> I64:
    """``n`` distinct microsecond instants in ``[start, start + span_s)``, shuffled."""
    span_us = int(span_s * 1_000_000)
    if n > span_us:
        raise ValueError("more points than microseconds in the span")
    offsets = np.unique(rng.integers(0, span_us, n + n // 4 + 8))
    while offsets.size < n:
        offsets = np.unique(np.r_[offsets, rng.integers(0, span_us, n)])
    rng.shuffle(offsets)
    return us(start) + offsets[:n].astype(np.int64)


def random_metrics(
    rng: np.random.Generator,
    n: int,
    start: datetime,
    span_s: float,
    models: Sequence[str] = MODELS,
    id_prefix: str = "r",
) -> MetricColumns:
    """``n`` metrics at distinct instants in ``[start, start + span_s)``, in no time
    order, each optional field present on some points only."""

    def maybe(values: F64, field: str) -> list[float | None]:
        present = rng.random(n) < _PRESENT[field]
        return [float(v) if p else None for v, p in zip(values, present, strict=True)]

    def maybe_count(values: I64, field: str) -> list[int | None]:
        present = rng.random(n) < _PRESENT[field]
        return [int(v) if p else None for v, p in zip(values, present, strict=True)]

    tag_choice = rng.integers(0, len(TAG_SETS), n)
    has_tags = rng.random(n) < _PRESENT["tags"]
    return MetricColumns(
        model_id=[models[i] for i in rng.integers(0, len(models), n)],
        model_type=[MODEL_TYPES[i] for i in rng.integers(0, len(MODEL_TYPES), n)],
        request_id=[f"{id_prefix}-{i}" for i in range(n)],
        ts_us=[int(t) for t in unique_times_us(rng, n, start, span_s)],
        latency=[float(v) for v in rng.lognormal(3.5, 0.8, n)],
        throughput=maybe(rng.gamma(4.0, 50.0, n), "throughput"),
        error_rate=maybe(rng.random(n) * 0.2, "error_rate"),
        error=[bool(e) for e in rng.random(n) < _ERROR_SHARE],
        gpu_memory_mb=maybe(rng.random(n) * 24_000, "gpu_memory_mb"),
        gpu_utilization=maybe(rng.random(n) * 100, "gpu_utilization"),
        cpu_percent=maybe(rng.random(n) * 100, "cpu_percent"),
        memory_mb=maybe(rng.random(n) * 16_000, "memory_mb"),
        tags_json=[
            json.dumps(TAG_SETS[c], ensure_ascii=False) if h else None
            for c, h in zip(tag_choice, has_tags, strict=True)
        ],
        prompt_tokens=maybe_count(rng.integers(0, 200_000, n), "prompt_tokens"),
        completion_tokens=maybe_count(rng.integers(0, 8_000, n), "completion_tokens"),
        time_to_first_token_ms=maybe(rng.lognormal(5.0, 0.7, n), "time_to_first_token_ms"),
        cost_usd=maybe(rng.random(n) * 0.05, "cost_usd"),
    )


def one_metric(
    model_id: str,
    when: datetime,
    request_id: str,
    latency: float = 100.0,
    *,
    error: bool = False,
    error_rate: float | None = None,
    resources: float | None = 1.0,
) -> MetricColumns:
    """A single metric carrying every series (resources and LLM fields set to
    ``resources``)."""
    return MetricColumns(
        model_id=[model_id],
        model_type=["tabular"],
        request_id=[request_id],
        ts_us=[us(when)],
        latency=[latency],
        throughput=[latency],
        error_rate=[error_rate],
        error=[error],
        gpu_memory_mb=[resources],
        gpu_utilization=[resources],
        cpu_percent=[resources],
        memory_mb=[resources],
        tags_json=[None],
        prompt_tokens=[None if resources is None else round(resources)],
        completion_tokens=[None if resources is None else round(resources)],
        time_to_first_token_ms=[resources],
        cost_usd=[resources],
    )


# Drift and alerts ----------------------------------------------------------------


def random_drift(
    rng: np.random.Generator, n: int, start: datetime, span_s: float, models: Sequence[str] = MODELS
) -> list[DriftMetric]:
    """``n`` drift metrics at distinct instants, feature and score absent on some."""
    drift_types = list(DriftType)
    severities = list(Severity)
    features = (None, "amount", "país", "age bucket")
    return [
        DriftMetric(
            model_id=models[int(rng.integers(len(models)))],
            drift_type=drift_types[int(rng.integers(len(drift_types)))],
            confidence=float(rng.random()),
            severity=severities[int(rng.integers(len(severities)))],
            timestamp=at(int(t)),
            feature=features[int(rng.integers(len(features)))],
            score=float(rng.normal()) if rng.random() < 0.7 else None,
        )
        for t in unique_times_us(rng, n, start, span_s)
    ]


def random_alerts(
    rng: np.random.Generator, n: int, start: datetime, span_s: float, models: Sequence[str] = MODELS
) -> list[Alert]:
    """``n`` alerts starting at distinct instants; every type, severity and status
    (and most of their combinations) occur once ``n`` is a few dozen. No two
    unresolved ones share an identity (a store keeps one open alert per identity)."""
    alert_types = list(AlertType)
    severities = list(Severity)
    statuses = list(AlertStatus)
    alerts = []
    for i, started in enumerate(unique_times_us(rng, n, start, span_s)):
        status = statuses[i % len(statuses)]
        acknowledged = bool(rng.random() < 0.4)
        began = at(int(started))
        later = began + timedelta(seconds=float(rng.random() * 600))
        alerts.append(
            Alert(
                id=f"alert-{i:03d}",
                model_id=models[int(rng.integers(len(models)))],
                alert_type=alert_types[i % len(alert_types)],
                severity=severities[(i // len(statuses)) % len(severities)],
                status=status,
                message=f"p95 latency {i} ms is above the threshold — über",
                value=float(rng.random() * 500),
                threshold=float(rng.random() * 250),
                started_at=began,
                last_breach_at=later,
                updated_at=later,
                resolved_at=later if status is AlertStatus.RESOLVED else None,
                acknowledged=acknowledged,
                acknowledged_at=later if acknowledged else None,
                labels={"region": "eu", "ключ": "значение", "n": str(i)}
                if i % 3 == 0
                else ({} if status is AlertStatus.RESOLVED else {"n": str(i)}),
            )
        )
    return alerts


# Rollups -------------------------------------------------------------------------


def random_rollups(
    rng: np.random.Generator,
    buckets: Sequence[datetime],
    models: Sequence[str] = MODELS[:2],
    metrics: Sequence[MetricName] = (MetricName.LATENCY, MetricName.ERROR_RATE),
    tag_sets: Sequence[str] = ("{}", '{"region":"eu"}', '{"région":"Zürich"}'),
) -> pa.Table:
    """One ``ROLLUP_SCHEMA`` row per bucket, model, metric and tag set, in shuffled
    order, its count, sum, min, max and KLL sketch all from the same random values."""
    rows: list[dict[str, object]] = []
    for bucket in buckets:
        for model_id in models:
            for metric in metrics:
                for tags in tag_sets:
                    values = rng.lognormal(3.0, 1.0, int(rng.integers(1, 300)))
                    sketch = kll_doubles_sketch(200)
                    sketch.update(values)
                    rows.append(
                        {
                            "model_id": model_id,
                            "tags": tags,
                            "metric": metric.value,
                            "bucket": bucket.replace(tzinfo=None),  # the column holds UTC
                            "count": int(values.size),
                            "sum": float(values.sum()),
                            "min": float(values.min()),
                            "max": float(values.max()),
                            "sketch": sketch.serialize(),
                        }
                    )
    order = rng.permutation(len(rows))
    return pa.Table.from_pylist([rows[i] for i in order], schema=ROLLUP_SCHEMA)
