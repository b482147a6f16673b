"""A firing alert's root-cause hint (annotation ``hint``) is one of the facts the
cards and the email show; a resolved alert's is not."""

from __future__ import annotations

import dataclasses

from monitorx.alerting.notify.channels.email import _plain_text
from monitorx.alerting.notify.channels.rendering import alert_facts
from monitorx.alerting.notify.notification import HINT, Notification
from monitorx.core import AlertStatus
from tests.alerting.notify.channels.samples import make_alert, make_notification

HINT_LINE = "region=eu: 100% of breaching points vs 24% of normal (×4.1; 40 of 40)"


def _with_hint(notification: Notification) -> Notification:
    alerts = tuple(
        dataclasses.replace(a, annotations={**a.annotations, HINT: HINT_LINE})
        for a in notification.alerts
    )
    return dataclasses.replace(notification, alerts=alerts)


def test_the_hint_is_a_fact_of_a_firing_alert_and_in_the_email() -> None:
    notification = _with_hint(make_notification())
    (alert,) = notification.alerts
    assert ("Hint", HINT_LINE) in alert_facts(alert)
    assert f"Hint:      {HINT_LINE}" in _plain_text(notification)
    assert notification.common_annotations[HINT] == HINT_LINE


def test_a_resolved_alert_shows_no_hint() -> None:
    notification = _with_hint(make_notification(make_alert(status=AlertStatus.RESOLVED)))
    (alert,) = notification.alerts
    assert alert.hint == ""
    assert all(name != "Hint" for name, _ in alert_facts(alert))
