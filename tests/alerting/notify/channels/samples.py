"""Alerts and notifications for the channel tests, at fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitorx.alerting.notify.notification import Notification, notified_alert
from monitorx.core import Alert, AlertStatus, AlertType, Severity

STARTED = datetime(2026, 8, 1, 10, 0, 0, tzinfo=UTC)
RESOLVED = STARTED + timedelta(minutes=5)
EXTERNAL_URL = "https://monitorx.example.com"


def make_alert(
    *,
    alert_id: str = "a1",
    model_id: str = "fraud-v3",
    alert_type: AlertType = AlertType.LATENCY,
    severity: Severity = Severity.CRITICAL,
    status: AlertStatus = AlertStatus.FIRING,
    value: float = 712.0,
    threshold: float = 250.0,
    message: str = "p95 latency 712 ms is above the 250 ms threshold",
    labels: dict[str, str] | None = None,
) -> Alert:
    resolved = status is AlertStatus.RESOLVED
    return Alert(
        id=alert_id,
        model_id=model_id,
        alert_type=alert_type,
        severity=severity,
        status=status,
        message=message,
        value=value,
        threshold=threshold,
        started_at=STARTED,
        last_breach_at=STARTED,
        updated_at=RESOLVED,
        resolved_at=RESOLVED if resolved else None,
        labels=labels or {},
    )


def make_notification(*alerts: Alert, receiver: str = "ml-oncall", **kwargs: Any) -> Notification:
    items = alerts or (make_alert(),)
    return Notification(
        receiver=receiver,
        alerts=tuple(notified_alert(a, EXTERNAL_URL) for a in items),
        external_url=EXTERNAL_URL,
        **kwargs,
    )
