"""The query and result types the storage protocols speak."""

from __future__ import annotations

__all__ = [
    "BLOB_MODEL_SEPARATOR",
    "Aggregation",
    "AlertQuery",
    "AuditQuery",
    "BreachRule",
    "Bucket",
    "DeliveryLogEntry",
    "ErrorWindow",
    "MetricQuery",
    "ModelWindowStats",
    "QueryAggregation",
    "Resolution",
]

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitorx.core import (
    AlertStatus,
    AlertType,
    Severity,
)

# Blob keys of a model are ``<model_id>/...``; identifiers never hold a slash, so
# the prefix of one model never matches another's keys.
BLOB_MODEL_SEPARATOR = "/"


class Aggregation(StrEnum):
    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    P50 = "p50"
    P90 = "p90"
    P95 = "p95"
    P99 = "p99"

    @property
    def quantile(self) -> float | None:
        """The quantile this aggregation asks for, or None for the others."""
        return _QUANTILES.get(self)


class QueryAggregation(StrEnum):
    """The aggregations of `GET /metrics/query` and of rules over any metric: those
    of `Aggregation`, and ``last`` (the latest point's value) and ``rate`` (the
    per-second increase of a cumulative series, counter resets handled)."""

    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    P50 = "p50"
    P90 = "p90"
    P95 = "p95"
    P99 = "p99"
    LAST = "last"
    RATE = "rate"

    @property
    def quantile(self) -> float | None:
        """The quantile this aggregation asks for, or None for the others."""
        return _QUANTILES.get(Aggregation(self.value)) if self.value in _PLAIN else None


_PLAIN = frozenset(a.value for a in Aggregation)
_QUANTILES = {
    Aggregation.P50: 0.5,
    Aggregation.P90: 0.9,
    Aggregation.P95: 0.95,
    Aggregation.P99: 0.99,
}


class Resolution(StrEnum):
    """How finely a series is kept: raw points, or rollups per minute or per hour."""

    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"

    @property
    def seconds(self) -> int:
        """The width of one rollup bucket (0 for raw points)."""
        return _RESOLUTION_SECONDS[self]


_RESOLUTION_SECONDS = {Resolution.RAW: 0, Resolution.MINUTE: 60, Resolution.HOUR: 3600}


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """Raw metrics in ``[start, end)``, newest first, at most ``limit``."""

    start: datetime
    end: datetime
    limit: int
    model_id: str | None = None


@dataclass(frozen=True, slots=True)
class Bucket:
    """One aggregate bucket; ``time`` is its start."""

    time: datetime
    value: float


@dataclass(frozen=True, slots=True)
class ModelWindowStats:
    """What a summary needs of one model over a window."""

    model_id: str
    count: int
    latency_mean: float | None
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    latency_max: float | None
    error_rate: float | None


@dataclass(frozen=True, slots=True)
class ErrorWindow:
    """How many metrics a model had in a window, and their error rate (None when none).

    ``slow`` counts the window's metrics whose latency is strictly greater than the
    ``latency_over`` that `Storage.error_window` was asked for (an SLO's "requests
    slower than the target"); 0 when it was not asked for.
    """

    count: int
    error_rate: float | None
    slow: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryLogEntry:
    """One notification attempt, logged for each alert it carried."""

    alert_ids: Sequence[str]
    at: datetime
    body: str


@dataclass(frozen=True, slots=True)
class AlertQuery:
    limit: int = 100
    model_id: str | None = None
    status: AlertStatus | None = None
    severity: Severity | None = None
    alert_type: AlertType | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit entries to list (newest first): each filter that is set must
    match; ``start`` inclusive, ``end`` exclusive."""

    limit: int = 100
    action: str | None = None
    actor: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class BreachRule:
    """Which points of a window breach, for an alert's label ranking: a latency
    above ``latency_over``; else a time at or after ``since``; else an error."""

    latency_over: float | None = None
    since: datetime | None = None
