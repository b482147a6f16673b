"""What a channel sends: one group of alerts for one receiver.

The shape follows Alertmanager's webhook data (``template.Data``) so that the webhook
channel can emit it as is and people who know Alertmanager's templates find the same
names: a receiver, a status, the alerts with their labels and annotations, the group's
labels, the labels and annotations all alerts share, and the group key.

Identity: an alert's fingerprint is Alertmanager's — FNV-1a 64 over the sorted label
pairs — taken over the labels that name the alert (model, type and the breach's own
labels). ``severity`` is left out of it: severity rises while an alert fires, and the
fingerprint must not move then (PagerDuty's dedup key is the fingerprint, so a moved
one would open a second incident and never resolve the first).
"""

from __future__ import annotations

__all__ = [
    "ALERTNAME",
    "HINT",
    "MODEL_ID",
    "SEVERITY",
    "Notification",
    "NotifiedAlert",
    "alert_fingerprint",
    "alert_link",
    "default_group_key",
    "fingerprint",
    "identity_labels",
    "notification_from_json",
    "notification_to_json",
    "notified_alert",
    "sample_notification",
]

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitorx.core import Alert, AlertStatus, Severity

# FNV-1a 64 as prometheus/common's `labelSetToFingerprint` uses it; 0xFF cannot occur
# in UTF-8, so it separates names from values unambiguously.
_FNV_OFFSET_64 = 14695981039346656037
_FNV_PRIME_64 = 1099511628211
_MASK_64 = (1 << 64) - 1
_SEPARATOR = b"\xff"

# Labels every notified alert carries; a breach's own labels cannot override them.
ALERTNAME = "alertname"
MODEL_ID = "model_id"
SEVERITY = "severity"
# The annotation that carries a firing alert's root-cause hint, when it is ready.
HINT = "hint"
# Labels that say what kind of alert it is, not what it is about.
_NOT_SUBJECT = frozenset({ALERTNAME, SEVERITY, "rule"})


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: 16 hex digits, order-independent."""
    value = _FNV_OFFSET_64
    for name in sorted(labels):
        for byte in name.encode() + _SEPARATOR + labels[name].encode() + _SEPARATOR:
            value = ((value ^ byte) * _FNV_PRIME_64) & _MASK_64
    return f"{value:016x}"


def identity_labels(alert: Alert) -> dict[str, str]:
    """The labels that name an alert: its own, its type and its model, if it has one
    (no severity)."""
    labels = {k: v for k, v in alert.labels.items() if k != SEVERITY}
    labels[ALERTNAME] = alert.alert_type.value
    if alert.model_id is not None:
        labels[MODEL_ID] = alert.model_id
    return labels


def alert_fingerprint(alert: Alert) -> str:
    """The stable fingerprint of an alert, the same from first breach to resolve."""
    return fingerprint(identity_labels(alert))


def alert_link(external_url: str, alert_id: str) -> str:
    """Where a person or a tool finds the alert in MonitorX ("" without a base URL)."""
    if not external_url:
        return ""
    return f"{external_url.rstrip('/')}/api/v1/alerts/{alert_id}"


@dataclass(frozen=True, slots=True)
class NotifiedAlert:
    """One alert as a channel sees it (Alertmanager's ``template.Alert`` plus our facts).

    ``ends_at`` is None while the alert fires. ``value``/``threshold`` and ``alert_id``
    are for the channels that show them (Slack, Teams, email, PagerDuty details); the
    webhook payload keeps to Alertmanager's keys.
    """

    status: AlertStatus
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    fingerprint: str
    ends_at: datetime | None = None
    generator_url: str = ""
    alert_id: str = ""
    value: float | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.status not in (AlertStatus.FIRING, AlertStatus.RESOLVED):
            raise ValueError(f"only firing or resolved alerts are notified, not {self.status}")

    @property
    def firing(self) -> bool:
        return self.status is AlertStatus.FIRING

    @property
    def alertname(self) -> str:
        return self.labels.get(ALERTNAME, "")

    @property
    def model_id(self) -> str:
        return self.labels.get(MODEL_ID, "")

    @property
    def subject(self) -> str:
        """What the alert is about: its model, else (a rule's group of series) the
        group's labels as ``region=eu, queue=jobs``; "" when neither."""
        if self.model_id:
            return self.model_id
        own = sorted((k, v) for k, v in self.labels.items() if k not in _NOT_SUBJECT)
        return ", ".join(f"{k}={v}" for k, v in own)

    @property
    def severity(self) -> Severity | None:
        """The ``severity`` label as a Severity, or None when absent or unknown."""
        try:
            return Severity(self.labels.get(SEVERITY, ""))
        except ValueError:
            return None

    @property
    def summary(self) -> str:
        return self.annotations.get("summary", "")

    @property
    def hint(self) -> str:
        """The root-cause hint of a firing alert (annotation ``hint``: the top label
        value and the nearest deploy before it, evaluation.alert_context), or ""."""
        return self.annotations.get(HINT, "") if self.firing else ""


def notified_alert(
    alert: Alert, external_url: str = "", description: str | None = None
) -> NotifiedAlert:
    """The NotifiedAlert for a MonitorX alert (firing or resolved; pending is refused)."""
    labels = dict(alert.labels)
    labels.update({ALERTNAME: alert.alert_type.value, SEVERITY: alert.severity.value})
    if alert.model_id is not None:
        labels[MODEL_ID] = alert.model_id
    annotations = {"summary": alert.message}
    if description:
        annotations["description"] = description
    ends_at = None
    if alert.status is AlertStatus.RESOLVED:
        ends_at = alert.resolved_at or alert.updated_at
    return NotifiedAlert(
        status=alert.status,
        labels=labels,
        annotations=annotations,
        starts_at=alert.started_at,
        ends_at=ends_at,
        fingerprint=alert_fingerprint(alert),
        generator_url=alert_link(external_url, alert.id),
        alert_id=alert.id,
        value=alert.value,
        threshold=alert.threshold,
    )


def default_group_key(group_labels: Mapping[str, str], route: str = "{}") -> str:
    """Alertmanager's group key: the route's path, then the group's labels."""
    pairs = ",".join(f'{name}="{group_labels[name]}"' for name in sorted(group_labels))
    return f"{route}:{{{pairs}}}"


def _shared(maps: list[Mapping[str, str]]) -> dict[str, str]:
    first, *rest = maps
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in rest)}


@dataclass(frozen=True, slots=True)
class Notification:
    """One group of alerts for one receiver: what every channel sends.

    ``status``, ``common_labels`` and ``common_annotations`` are derived from the
    alerts, as Alertmanager derives them: "firing" if any alert fires; the label and
    annotation pairs every alert has. ``group_key`` defaults to the root route's key
    for ``group_labels``. ``truncated_alerts`` counts alerts left out by a size limit.
    """

    receiver: str
    alerts: tuple[NotifiedAlert, ...]
    group_labels: Mapping[str, str] = field(default_factory=dict)
    group_key: str = ""
    external_url: str = ""
    truncated_alerts: int = 0
    status: AlertStatus = field(init=False)
    common_labels: Mapping[str, str] = field(init=False)
    common_annotations: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        if not self.alerts:
            raise ValueError("a notification carries at least one alert")
        firing = any(a.firing for a in self.alerts)
        object.__setattr__(self, "status", AlertStatus.FIRING if firing else AlertStatus.RESOLVED)
        object.__setattr__(self, "common_labels", _shared([a.labels for a in self.alerts]))
        object.__setattr__(
            self, "common_annotations", _shared([a.annotations for a in self.alerts])
        )
        if not self.group_key:
            object.__setattr__(self, "group_key", default_group_key(self.group_labels))

    @property
    def firing(self) -> tuple[NotifiedAlert, ...]:
        return tuple(a for a in self.alerts if a.firing)

    @property
    def resolved(self) -> tuple[NotifiedAlert, ...]:
        return tuple(a for a in self.alerts if not a.firing)


def sample_notification(receiver: str, now: datetime, external_url: str = "") -> Notification:
    """A one-alert notification for "send a test notification" (no real alert behind it)."""
    labels = {ALERTNAME: "test", MODEL_ID: "monitorx", SEVERITY: Severity.LOW.value}
    alert = NotifiedAlert(
        status=AlertStatus.FIRING,
        labels=labels,
        annotations={"summary": "Test notification from MonitorX: this channel works."},
        starts_at=now,
        fingerprint=fingerprint({k: v for k, v in labels.items() if k != SEVERITY}),
        generator_url=external_url,
    )
    return Notification(receiver=receiver, alerts=(alert,), external_url=external_url)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def notification_to_json(notification: Notification) -> dict[str, object]:
    """A notification as JSON (a pending delivery kept across restarts)."""
    return {
        "receiver": notification.receiver,
        "group_labels": dict(notification.group_labels),
        "group_key": notification.group_key,
        "external_url": notification.external_url,
        "truncated_alerts": notification.truncated_alerts,
        "alerts": [
            {
                "status": a.status.value,
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "starts_at": _time(a.starts_at),
                "ends_at": _time(a.ends_at),
                "fingerprint": a.fingerprint,
                "generator_url": a.generator_url,
                "alert_id": a.alert_id,
                "value": a.value,
                "threshold": a.threshold,
            }
            for a in notification.alerts
        ],
    }


def notification_from_json(data: Mapping[str, Any]) -> Notification:
    alerts = tuple(
        NotifiedAlert(
            status=AlertStatus(a["status"]),
            labels=a["labels"],
            annotations=a["annotations"],
            starts_at=datetime.fromisoformat(a["starts_at"]),
            ends_at=None if a["ends_at"] is None else datetime.fromisoformat(a["ends_at"]),
            fingerprint=a["fingerprint"],
            generator_url=a["generator_url"],
            alert_id=a["alert_id"],
            value=a["value"],
            threshold=a["threshold"],
        )
        for a in data["alerts"]
    )
    return Notification(
        receiver=data["receiver"],
        alerts=alerts,
        group_labels=data["group_labels"],
        group_key=data["group_key"],
        external_url=data["external_url"],
        truncated_alerts=data["truncated_alerts"],
    )
