"""The notification pipeline's health: whether deliveries get out.

Degraded when a channel's last `FAILED_ATTEMPTS` deliveries failed, or a job has
waited for its send more than `OVERDUE_INTERVALS` ticks past its time (its
channel's sender is stuck); the oldest undelivered job's age and each channel's
latest outcome either way."""

from __future__ import annotations

__all__ = ["delivery_health"]

from collections.abc import Callable, Sequence
from datetime import datetime

from monitorx.alerting.notify.delivery import DeliveryAttempt, DeliveryQueue, Outcome
from monitorx.core.health import FAILED_ATTEMPTS, OVERDUE_INTERVALS, Check, Health


def _failed_in_a_row(attempts: Sequence[DeliveryAttempt]) -> int:
    count = 0
    for attempt in reversed(attempts):
        if attempt.outcome is Outcome.DELIVERED:
            break
        count += 1
    return count


def delivery_health(
    queue: DeliveryQueue, sending: Callable[[str], bool], now: datetime, tick_s: float
) -> Check:
    """The check of ``queue``; ``sending(channel)`` says whether that channel's
    sender is at work now (a job past its time is then not stuck)."""
    pending = queue.pending()
    reasons = []
    channels: dict[str, dict[str, object]] = {}
    for name, attempts in sorted(queue.recent.items()):
        last = list(attempts)[-FAILED_ATTEMPTS:]
        failed = [a for a in last if a.outcome is not Outcome.DELIVERED]
        channels[name] = {
            "last_outcome": last[-1].outcome.value,
            "last_attempt": last[-1].at.isoformat(),
            "failed_in_a_row": _failed_in_a_row(list(attempts)),
        }
        if len(failed) == FAILED_ATTEMPTS:
            reasons.append(
                f"channel {name}: the last {FAILED_ATTEMPTS} deliveries failed "
                f"({last[-1].error or last[-1].outcome.value})"
            )
    stuck = [
        j
        for j in pending
        if (now - j.due).total_seconds() > OVERDUE_INTERVALS * tick_s and not sending(j.channel)
    ]
    if stuck:
        reasons.append(f"{len(stuck)} notification(s) past their send time")
    oldest = min((j.first_try for j in pending), default=None)
    measured = {
        "undelivered": len(pending),
        "oldest_undelivered_s": 0.0 if oldest is None else (now - oldest).total_seconds(),
        "channels": channels,
    }
    return Check(Health.DEGRADED if reasons else Health.HEALTHY, "; ".join(reasons), measured)
