"""Alerts: what fired, how badly, and where it stands."""

from __future__ import annotations

__all__ = ["Alert", "AlertStatus", "AlertType", "Breach", "Severity", "alert_identity"]

import json
from collections.abc import Mapping
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


def alert_identity(
    model_id: str | None, alert_type: AlertType, labels: Mapping[str, str] | None = None
) -> str:
    """An alert's identity as one text — model, type and its own labels — the key
    under which the store keeps at most one unresolved alert (replicas that see
    breaches of one model at once open one alert, not one each)."""
    body = json.dumps(dict(labels or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{model_id or ''}\x1f{alert_type.value}\x1f{body}"


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

    @property
    def identity(self) -> str:
        """See `alert_identity`."""
        return alert_identity(self.model_id, self.alert_type, self.labels)

    def absorb(self, opened: Alert) -> Alert:
        """This unresolved alert after a new breach of its identity, given as the
        alert that breach would have opened: the breach's value, threshold and
        message, severity only upwards. (PostgreSQL applies the same rule in its
        upsert, store/postgres/open_alerts.py.)"""
        rises = opened.severity.rank > self.severity.rank
        return replace(
            self,
            value=opened.value,
            threshold=opened.threshold,
            message=opened.message,
            severity=opened.severity if rises else self.severity,
            last_breach_at=opened.last_breach_at,
            updated_at=opened.updated_at,
        )

    def evolve(self, **changes: object) -> Alert:
        return replace(self, **changes)  # type: ignore[arg-type]
