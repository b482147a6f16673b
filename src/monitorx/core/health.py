"""Health: how each part of a running server is doing, measured, with a reason.

A part is ``degraded`` when its work is overdue by more than `OVERDUE_INTERVALS` of
its intervals, or its last `FAILED_ATTEMPTS` attempts failed; work not yet due, or
a worker not started because nothing needed it, is ``healthy``. ``unhealthy`` means
the server cannot serve (its storage does not answer). A server's status is its
worst part's.
"""

from __future__ import annotations

__all__ = ["FAILED_ATTEMPTS", "OVERDUE_INTERVALS", "Check", "Health", "worst"]

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

OVERDUE_INTERVALS = 3
"""Intervals a periodic job may be late by before its part is degraded."""
FAILED_ATTEMPTS = 3
"""Attempts in a row that must fail before a part is degraded (one is bad luck)."""


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Health.HEALTHY: 0, Health.DEGRADED: 1, Health.UNHEALTHY: 2}


@dataclass(frozen=True, slots=True)
class Check:
    """One part's status, why it is not healthy, and what was measured."""

    status: Health
    reason: str = ""
    measured: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status.value}
        if self.reason:
            body["reason"] = self.reason
        return body | self.measured


def worst(statuses: Iterable[Health]) -> Health:
    return max(statuses, key=lambda s: s.rank, default=Health.HEALTHY)
