"""The unit every channel sends: Alertmanager-shaped groups, stable fingerprints."""

from __future__ import annotations

import pytest

from monitorx.alerting.notify.notification import (
    Notification,
    NotifiedAlert,
    alert_fingerprint,
    default_group_key,
    fingerprint,
    notified_alert,
    sample_notification,
)
from monitorx.core import AlertStatus, AlertType, Severity
from tests.alerting.notify.channels.samples import EXTERNAL_URL, RESOLVED, STARTED, make_alert


def test_fingerprint_equals_prometheus_labelset_fingerprint() -> None:
    # prometheus/common model/signature_test.go: labelSetToFingerprint of this set is
    # 5799056148416392346, and the empty set is FNV-1a's offset basis.
    labels = {"name": "garland, briggs", "fear": "love is not enough"}
    assert fingerprint(labels) == f"{5799056148416392346:016x}"
    assert fingerprint({}) == f"{14695981039346656037:016x}"


def test_fingerprint_ignores_label_order_and_tells_sets_apart() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    # The separator byte keeps "a=bc" and "ab=c" apart.
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})
    assert len(fingerprint({"a": "1"})) == 16


def test_fingerprint_stays_when_severity_rises_and_moves_with_identity() -> None:
    low = make_alert(severity=Severity.LOW)
    critical = make_alert(severity=Severity.CRITICAL, value=900.0, message="worse")
    assert alert_fingerprint(low) == alert_fingerprint(critical)
    assert alert_fingerprint(low) != alert_fingerprint(make_alert(model_id="other"))
    assert alert_fingerprint(low) != alert_fingerprint(make_alert(alert_type=AlertType.DRIFT))
    assert alert_fingerprint(low) != alert_fingerprint(make_alert(labels={"feature": "amount"}))
    assert alert_fingerprint(low) == fingerprint({"alertname": "latency", "model_id": "fraud-v3"})


def test_notified_alert_carries_alertmanager_labels_and_annotations() -> None:
    alert = make_alert(labels={"region": "eu", "severity": "ignored", "alertname": "ignored"})
    notified = notified_alert(alert, EXTERNAL_URL, description="details")
    assert dict(notified.labels) == {
        "alertname": "latency",
        "model_id": "fraud-v3",
        "severity": "critical",
        "region": "eu",
    }
    assert dict(notified.annotations) == {
        "summary": "p95 latency 712 ms is above the 250 ms threshold",
        "description": "details",
    }
    assert notified.status is AlertStatus.FIRING and notified.ends_at is None
    assert notified.starts_at == STARTED
    assert notified.generator_url == "https://monitorx.example.com/api/v1/alerts/a1"
    assert (notified.alert_id, notified.value, notified.threshold) == ("a1", 712.0, 250.0)
    assert notified.severity is Severity.CRITICAL
    assert notified.fingerprint == fingerprint(
        {"alertname": "latency", "model_id": "fraud-v3", "region": "eu"}
    )


def test_resolved_alert_ends_when_it_resolved() -> None:
    notified = notified_alert(make_alert(status=AlertStatus.RESOLVED))
    assert notified.status is AlertStatus.RESOLVED and notified.ends_at == RESOLVED
    assert notified.generator_url == ""  # no external URL configured


def test_pending_alerts_are_not_notified() -> None:
    with pytest.raises(ValueError, match="pending"):
        notified_alert(make_alert(status=AlertStatus.PENDING))


def test_group_fires_if_any_alert_fires_and_shares_common_pairs() -> None:
    firing = notified_alert(make_alert(alert_id="a", labels={"region": "eu"}))
    resolved = notified_alert(
        make_alert(
            alert_id="b",
            status=AlertStatus.RESOLVED,
            severity=Severity.LOW,
            model_id="ranker",
            message="p95 latency back under 250 ms",
            labels={"region": "eu"},
        )
    )
    group = Notification("ops", (firing, resolved), group_labels={"alertname": "latency"})
    assert group.status is AlertStatus.FIRING
    assert dict(group.common_labels) == {"alertname": "latency", "region": "eu"}
    assert dict(group.common_annotations) == {}
    assert group.group_key == '{}:{alertname="latency"}'
    assert group.firing == (firing,) and group.resolved == (resolved,)
    only_resolved = Notification("ops", (resolved,))
    assert only_resolved.status is AlertStatus.RESOLVED
    assert only_resolved.group_key == "{}:{}"


def test_group_key_lists_group_labels_sorted() -> None:
    key = default_group_key({"model_id": "m", "alertname": "x"}, route='{}/{severity="critical"}')
    assert key == '{}/{severity="critical"}:{alertname="x",model_id="m"}'


def test_a_notification_has_at_least_one_alert() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Notification("ops", ())


def test_a_notified_alert_is_firing_or_resolved() -> None:
    with pytest.raises(ValueError, match="pending"):
        NotifiedAlert(AlertStatus.PENDING, {}, {}, STARTED, "00")


def test_sample_notification_is_one_low_firing_alert() -> None:
    sample = sample_notification("ops", STARTED, EXTERNAL_URL)
    (alert,) = sample.alerts
    assert sample.status is AlertStatus.FIRING and sample.receiver == "ops"
    assert alert.alertname == "test" and alert.severity is Severity.LOW
    assert alert.fingerprint == fingerprint({"alertname": "test", "model_id": "monitorx"})
