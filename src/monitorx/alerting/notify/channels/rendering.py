"""Text every human-facing channel shares: subject line, tone, facts, times, numbers.

Slack, Teams, email and PagerDuty say the same things in their own markup; the words
and the judgement (which colour a severity gets, how a value is written) live here
once, so the channels cannot drift apart.
"""

from __future__ import annotations

__all__ = [
    "GO_ZERO_TIME",
    "Tone",
    "alert_facts",
    "alert_title",
    "alert_tone",
    "format_number",
    "format_time",
    "notification_tone",
    "subject",
]

import math
from datetime import UTC, datetime
from enum import StrEnum

from monitorx.alerting.notify.notification import Notification, NotifiedAlert
from monitorx.core import Severity

# What Alertmanager writes for a time that is not set (Go's zero time, in RFC 3339).
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


class Tone(StrEnum):
    """How alarming a message looks; each channel maps it to its own colours."""

    DANGER = "danger"
    WARNING = "warning"
    GOOD = "good"


_SEVERITY_TONE = {
    Severity.CRITICAL: Tone.DANGER,
    Severity.HIGH: Tone.DANGER,
    Severity.MEDIUM: Tone.WARNING,
    Severity.LOW: Tone.GOOD,
}
_TONE_RANK = {Tone.GOOD: 0, Tone.WARNING: 1, Tone.DANGER: 2}


def alert_tone(alert: NotifiedAlert) -> Tone:
    """Resolved is good; a firing alert takes its severity's tone (unknown: warning)."""
    if not alert.firing:
        return Tone.GOOD
    severity = alert.severity
    return _SEVERITY_TONE[severity] if severity is not None else Tone.WARNING


def notification_tone(notification: Notification) -> Tone:
    """The most alarming tone among the notification's alerts."""
    return max((alert_tone(a) for a in notification.alerts), key=_TONE_RANK.__getitem__)


def format_time(when: datetime | None) -> str:
    """RFC 3339 in UTC with a ``Z``; fractions only when present; unset is Go's zero."""
    if when is None:
        return GO_ZERO_TIME
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_number(value: float | None) -> str:
    """A value as a person reads it: ``312``, ``0.0512``, ``1.5e+06``; None is "n/a"."""
    if value is None:
        return "n/a"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def subject(notification: Notification) -> str:
    """Alertmanager's default subject: ``[FIRING:2] latency fraud-v3 (critical)``.

    Status (with the firing count), then the group labels' values sorted by name, then
    in parentheses the values of the common labels that are not group labels.
    """
    status = notification.status.value.upper()
    head = f"[{status}:{len(notification.firing)}]" if notification.firing else f"[{status}]"
    parts = [head]
    group = notification.group_labels
    parts += [group[name] for name in sorted(group)]
    extra = {k: v for k, v in notification.common_labels.items() if k not in group}
    if extra:
        parts.append("(" + " ".join(extra[name] for name in sorted(extra)) + ")")
    return " ".join(p for p in parts if p)


def alert_title(alert: NotifiedAlert) -> str:
    """``[FIRING] latency on fraud-v3``."""
    name = alert.alertname or "alert"
    where = f" on {alert.subject}" if alert.subject else ""
    return f"[{alert.status.value.upper()}] {name}{where}"


def alert_facts(alert: NotifiedAlert) -> list[tuple[str, str]]:
    """The facts a card or table shows for one alert, in reading order."""
    facts = [("Model", alert.model_id)] if alert.model_id else [("Group", alert.subject or "n/a")]
    severity = alert.severity
    facts.append(("Severity", severity.value if severity is not None else "n/a"))
    if alert.value is not None:
        facts.append(("Value", format_number(alert.value)))
    if alert.threshold is not None:
        facts.append(("Threshold", format_number(alert.threshold)))
    facts.append(("Started", format_time(alert.starts_at)))
    if alert.ends_at is not None:
        facts.append(("Resolved", format_time(alert.ends_at)))
    if alert.hint:
        facts.append(("Hint", alert.hint))
    return facts
