"""What the notifier keeps in the store, as documents: delivery jobs not yet done
(``delivery_job``), what each receiver of each group last heard (``nflog``), the
escalation steps each alert reached (``escalation``), and each delivery attempt's
entry in the delivery log — their kinds and JSON."""

from __future__ import annotations

__all__ = ["ESCALATION", "JOB", "NFLOG", "attempt_json", "job_from", "job_json"]

import json
from datetime import datetime
from typing import Any

from monitorx.alerting.notify.delivery import DeliveryAttempt, DeliveryJob
from monitorx.alerting.notify.notification import notification_from_json, notification_to_json

JOB, NFLOG, ESCALATION = "delivery_job", "nflog", "escalation"


def attempt_json(attempt: DeliveryAttempt) -> str:
    """An attempt as the delivery log shows it (``GET /alerts/{id}/notifications``)."""
    return json.dumps(
        {
            "channel": attempt.channel,
            "group_key": attempt.group_key,
            "attempt": attempt.attempt,
            "at": attempt.at.isoformat(),
            "outcome": attempt.outcome.value,
            "status_code": attempt.status_code,
            "error": attempt.error,
        }
    )


def job_json(job: DeliveryJob) -> str:
    return json.dumps(
        {
            "id": job.id,
            "channel": job.channel,
            "notification": notification_to_json(job.notification),
            "first_try": job.first_try.isoformat(),
            "due": job.due.isoformat(),
            "attempts": job.attempts,
        }
    )


def job_from(data: dict[str, Any]) -> DeliveryJob:
    return DeliveryJob(
        channel=data["channel"],
        notification=notification_from_json(data["notification"]),
        first_try=datetime.fromisoformat(data["first_try"]),
        due=datetime.fromisoformat(data["due"]),
        attempts=data["attempts"],
        id=data["id"],
    )
