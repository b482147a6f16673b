"""An in-process alert handler, loaded by name in test_notification_flow.py."""

from __future__ import annotations

from monitorx.alerting.engine import AlertEvent

EVENTS: list[tuple[str, str]] = []


def record(event: AlertEvent) -> None:
    EVENTS.append((event.change.value, event.alert.id))
