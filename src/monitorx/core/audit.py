"""The audit log's entries: who changed what, when, from where, and how it ended."""

from __future__ import annotations

__all__ = ["AuditEntry", "AuditOutcome"]

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    """The change was made (a 2xx or 3xx answer)."""
    DENIED = "denied"
    """No credentials, bad credentials, or a role without the right (401, 403)."""
    FAILURE = "failure"
    """Refused for another reason (an invalid body, an unknown resource, an error)."""

    @classmethod
    def of_status(cls, status: int) -> AuditOutcome:
        if status < 400:
            return cls.SUCCESS
        if status in (401, 403):
            return cls.DENIED
        return cls.FAILURE


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited request. ``actor`` names the key or user (never its secret),
    ``action`` what was asked (the API operation, such as ``create_rule``),
    ``target`` the resource's path, ``source_ip`` the client's address."""

    time: datetime
    actor: str
    project: str
    action: str
    target: str
    source_ip: str
    outcome: AuditOutcome

    def to_json(self) -> dict[str, str]:
        """API.md's shape, the time as RFC 3339 in UTC."""
        return {
            "time": self.time.isoformat(),
            "actor": self.actor,
            "project": self.project,
            "action": self.action,
            "target": self.target,
            "source_ip": self.source_ip,
            "outcome": self.outcome.value,
        }
