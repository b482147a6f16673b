"""Delivery of notifications to channels: rate limited, retried, logged.

Each notification becomes a job for one channel. `DeliveryQueue.run_due` sends the
jobs whose time has come, the channels concurrently (a slow or dead receiver holds
up only its own jobs), each channel's jobs in order. A job that fails with a
retryable error (connection refused, timeout, 429, 5xx, SMTP 4xx) is tried again
after an exponential backoff with jitter — 1 s, 2 s, 4 s … capped at 60 s, or the
receiver's ``Retry-After`` when it is longer — until it succeeds, its attempts run
out or its retry budget (default 10 minutes from the first attempt) is spent. A
non-retryable error (a 4xx: the receiver refuses the payload or the credentials)
ends the job at once. Every attempt is reported to the ``record`` callback, which
keeps the delivery log an alert's ``/notifications`` shows.

Rate limit: at most ``max_per_window`` sends per channel in any sliding
``window_s``; a job over the limit waits for the oldest send to leave the window
(it is delayed, never dropped). Time comes from the injectable clock.
"""

from __future__ import annotations

__all__ = [
    "DeliveryAttempt",
    "DeliveryJob",
    "DeliveryPolicy",
    "DeliveryQueue",
    "Outcome",
    "RateLimit",
    "SlidingWindow",
]

import asyncio
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from monitorx.alerting.notify.channels.base import Channel, ChannelError
from monitorx.alerting.notify.notification import Notification
from monitorx.core import Clock
from monitorx.core.backoff import Backoff


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # will be retried
    GAVE_UP = "gave_up"  # not retryable, or out of attempts or budget


DEFAULT_BACKOFF = Backoff(initial_s=1.0, max_s=60.0, jitter=0.2)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How a failed delivery is retried: `Backoff` between attempts, at most
    ``max_attempts`` of them within ``budget_s`` of the first."""

    max_attempts: int = 8
    budget_s: float = 600.0
    backoff: Backoff = DEFAULT_BACKOFF


@dataclass(frozen=True, slots=True)
class RateLimit:
    max_per_window: int = 30
    window_s: float = 60.0


class SlidingWindow:
    """Send times of one channel in the last window."""

    def __init__(self, limit: RateLimit) -> None:
        self._limit = limit
        self._sent: deque[datetime] = deque()

    def next_allowed(self, now: datetime) -> datetime:
        """When a send may happen: now, or when the oldest send leaves the window."""
        window = timedelta(seconds=self._limit.window_s)
        while self._sent and self._sent[0] <= now - window:
            self._sent.popleft()
        if len(self._sent) < self._limit.max_per_window:
            return now
        return self._sent[0] + window

    def record(self, now: datetime) -> None:
        self._sent.append(now)


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try at one channel, as the delivery log shows it."""

    channel: str
    group_key: str
    alert_ids: tuple[str, ...]
    attempt: int
    at: datetime
    outcome: Outcome
    status_code: int | None = None
    error: str = ""


@dataclass(slots=True)
class DeliveryJob:
    channel: str
    notification: Notification
    first_try: datetime
    due: datetime
    attempts: int = 0  # -1 once finished (delivered or given up)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def finished(self) -> bool:
        return self.attempts < 0


Record = Callable[[DeliveryAttempt], Awaitable[None]]


async def _no_record(_attempt: DeliveryAttempt) -> None:
    return None


@dataclass
class DeliveryQueue:
    channels: Mapping[str, Channel]
    clock: Clock
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    limit: RateLimit = field(default_factory=RateLimit)
    # Per-channel overrides of ``limit``, looked up at each send (a live mapping).
    limits: Mapping[str, RateLimit] = field(default_factory=dict)
    record: Record = _no_record
    rng: random.Random = field(default_factory=random.Random)
    _jobs: dict[str, list[DeliveryJob]] = field(default_factory=dict, init=False)
    _windows: dict[str, tuple[RateLimit, SlidingWindow]] = field(default_factory=dict, init=False)

    def submit(self, channel: str, notification: Notification) -> DeliveryJob:
        now = self.clock.now()
        job = DeliveryJob(channel, notification, now, now)
        self._jobs.setdefault(channel, []).append(job)
        return job

    def restore(self, job: DeliveryJob) -> None:
        """Put back a job kept across a restart (its attempts and times as they were)."""
        self._jobs.setdefault(job.channel, []).append(job)

    def channels_due(self) -> list[str]:
        """Channels with a job whose time has come (or that waits on the rate limit)."""
        now = self.clock.now()
        return [name for name, jobs in self._jobs.items() if any(j.due <= now for j in jobs)]

    def _window(self, name: str) -> SlidingWindow:
        limit = self.limits.get(name, self.limit)
        found = self._windows.get(name)
        if found is None or found[0] != limit:
            found = (limit, SlidingWindow(limit))
            self._windows[name] = found
        return found[1]

    def pending(self, channel: str | None = None) -> list[DeliveryJob]:
        if channel is not None:
            return list(self._jobs.get(channel, []))
        return [job for jobs in self._jobs.values() for job in jobs]

    async def run_due(self) -> int:
        """Send every due job (channels concurrently); return how many were delivered."""
        counts = await asyncio.gather(*(self.run_channel(name) for name in list(self._jobs)))
        return sum(counts)

    async def run_channel(self, name: str) -> int:
        """Send one channel's due jobs, in order; return how many were delivered.
        The caller runs at most one of these per channel at a time."""
        delivered = 0
        window = self._window(name)
        for job in list(self._jobs.get(name, [])):
            now = self.clock.now()
            if job.due > now:
                continue
            allowed = window.next_allowed(now)
            if allowed > now:
                job.due = allowed  # over the rate limit: wait, keep the order
                break
            window.record(now)
            if await self._attempt(job, now):
                delivered += 1
        left = [j for j in self._jobs.get(name, []) if not j.finished]
        if left:
            self._jobs[name] = left
        else:
            self._jobs.pop(name, None)
        return delivered

    async def _attempt(self, job: DeliveryJob, now: datetime) -> bool:
        job.attempts += 1
        channel = self.channels.get(job.channel)
        alert_ids = tuple(a.alert_id for a in job.notification.alerts if a.alert_id)
        entry = DeliveryAttempt(
            job.channel, job.notification.group_key, alert_ids, job.attempts, now, Outcome.DELIVERED
        )
        if channel is None:
            await self._finish(job, entry, Outcome.GAVE_UP, None, "the channel no longer exists")
            return False
        try:
            result = await channel.send(job.notification)
        except ChannelError as exc:
            retry_at = self._retry_at(job, now, exc)
            if retry_at is None:
                await self._finish(job, entry, Outcome.GAVE_UP, exc.status_code, str(exc))
            else:
                job.due = retry_at
                await self.record(_with(entry, Outcome.FAILED, exc.status_code, str(exc)))
            return False
        await self._finish(job, entry, Outcome.DELIVERED, result.status_code, "")
        return True

    def _retry_at(self, job: DeliveryJob, now: datetime, exc: ChannelError) -> datetime | None:
        policy = self.policy
        if not exc.retryable or job.attempts >= policy.max_attempts:
            return None
        wait = policy.backoff.delay_s(job.attempts - 1, self.rng.random())
        if exc.retry_after_s is not None:
            wait = max(wait, exc.retry_after_s)
        retry_at = now + timedelta(seconds=wait)
        if retry_at > job.first_try + timedelta(seconds=policy.budget_s):
            return None
        return retry_at

    async def _finish(
        self,
        job: DeliveryJob,
        entry: DeliveryAttempt,
        outcome: Outcome,
        status_code: int | None,
        error: str,
    ) -> None:
        job.attempts = -1  # done: removed from the queue after this pass
        await self.record(_with(entry, outcome, status_code, error))


def _with(
    entry: DeliveryAttempt, outcome: Outcome, status_code: int | None, error: str
) -> DeliveryAttempt:
    return DeliveryAttempt(
        entry.channel,
        entry.group_key,
        entry.alert_ids,
        entry.attempt,
        entry.at,
        outcome,
        status_code,
        error,
    )
