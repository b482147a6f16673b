"""Alerts: what fired, how badly, and where it stands."""

from __future__ import annotations

__all__ = ["Alert", "AlertStatus", "AlertType", "Breach", "Severity"]

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class AlertStatus(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertType(StrEnum):
    LATENCY = "latency"
    ERROR_RATE = "error_rate"
    DRIFT = "drift"
    RESOURCE_USAGE = "resource_usage"
    ANOMALY = "anomaly"
    THROUGHPUT = "throughput"
    SLO_BURN = "slo_burn"
    FORECAST = "forecast"  # a trend forecast crosses a threshold soon (predictive alert)
    QUALITY = "quality"
    METRIC = "metric"  # a window rule over a custom metric


@dataclass(frozen=True, slots=True)
class Breach:
    """A value past its threshold: the candidate an evaluator hands to the alert engine.
    ``model_id`` is None for what concerns no one model (a rule's group of series
    with no ``model_id`` label)."""

    model_id: str | None
    alert_type: AlertType
    severity: Severity
    value: float
    threshold: float
    message: str
    observed_at: datetime
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert (API.md `Alert`). ``started_at`` is when it began firing; ``model_id``
    None: the alert concerns no one model (see `Breach`)."""

    id: str
    model_id: str | None
    alert_type: AlertType
    severity: Severity
    status: AlertStatus
    message: str
    value: float
    threshold: float
    started_at: datetime
    last_breach_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    acknowledged: bool = False
    acknowledged_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def resolved(self) -> bool:
        return self.status is AlertStatus.RESOLVED

    def evolve(self, **changes: object) -> Alert:
        return replace(self, **changes)  # type: ignore[arg-type]
