"""Delivery of notifications to channels: concurrent, rate limited, retried, logged.

Each notification becomes a job for one channel. `DeliveryQueue.run_due` sends the
jobs whose time has come, the channels concurrently (a slow or dead receiver holds
up only its own jobs), and within a channel up to ``concurrency`` jobs at once, in
the order they came due: an alert storm reaches a webhook at once, as Alertmanager
delivers it, and a resolve is never overtaken by notifications that came due
after it. A job that fails with a
retryable error (connection refused, timeout, 429, 5xx, SMTP 4xx) is tried again
after an exponential backoff with jitter — 1 s, 2 s, 4 s … capped at 60 s, or the
receiver's ``Retry-After`` when it is longer — until it succeeds, its attempts run
out or its retry budget (default 10 minutes from the first attempt) is spent. A
non-retryable error (a 4xx: the receiver refuses the payload or the credentials)
ends the job at once. Every attempt is reported to the ``record`` callback, which
keeps the delivery log an alert's ``/notifications`` shows.

Rate limits (`rate_limits`): a channel's sends fit every one of its sliding windows;
a job over a limit waits for the oldest send to leave the window (it is delayed,
never dropped). Time comes from the injectable clock.
"""

from __future__ import annotations

__all__ = [
    "DeliveryAttempt",
    "DeliveryJob",
    "DeliveryPolicy",
    "DeliveryQueue",
    "Outcome",
]

import asyncio
import random
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from monitorx.alerting.notify.channels.base import Channel, ChannelError
from monitorx.alerting.notify.notification import Notification
from monitorx.alerting.notify.rate_limits import ChannelRateLimiter, RateLimits
from monitorx.core import Clock
from monitorx.core.backoff import Backoff


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # will be retried
    GAVE_UP = "gave_up"  # not retryable, or out of attempts or budget


DEFAULT_BACKOFF = Backoff(initial_s=1.0, max_s=60.0, jitter=0.2)
# Sends in flight at once to one channel (MONITORX_NOTIFY_CHANNEL_CONCURRENCY).
DEFAULT_CONCURRENCY = 16
# Attempts of each channel kept for its health.
RECENT_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How a failed delivery is retried: `Backoff` between attempts, at most
    ``max_attempts`` of them within ``budget_s`` of the first."""

    max_attempts: int = 8
    budget_s: float = 600.0
    backoff: Backoff = DEFAULT_BACKOFF


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
    # The limits of channels not in ``limits`` (none by default).
    limit: RateLimits = ()
    # Each channel's limits, looked up at each send (a live mapping).
    limits: Mapping[str, RateLimits] = field(default_factory=dict)
    record: Record = _no_record
    rng: random.Random = field(default_factory=random.Random)
    # Sends in flight at once to one channel.
    concurrency: int = DEFAULT_CONCURRENCY
    # Asked before each wave of sends: False stops the channel's run (a replica
    # whose notifier lease ran out sends nothing more; store.leases).
    may_send: Callable[[], bool] = lambda: True
    _jobs: dict[str, list[DeliveryJob]] = field(default_factory=dict, init=False)
    _limiters: dict[str, ChannelRateLimiter] = field(default_factory=dict, init=False)
    # The outcomes of each channel's latest attempts, newest last (for health).
    recent: dict[str, deque[DeliveryAttempt]] = field(default_factory=dict, init=False)
    # How many attempts of each channel ended each way since the start (for metrics).
    outcomes: dict[str, Counter[Outcome]] = field(default_factory=dict, init=False)

    def submit(self, channel: str, notification: Notification) -> DeliveryJob:
        now = self.clock.now()
        job = DeliveryJob(channel, notification, now, now)
        self._jobs.setdefault(channel, []).append(job)
        return job

    def clear(self) -> None:
        """Drop every job (another replica sends them now); counters stay."""
        self._jobs.clear()

    def restore(self, job: DeliveryJob) -> None:
        """Put back a job kept across a restart (its attempts and times as they were)."""
        self._jobs.setdefault(job.channel, []).append(job)

    def channels_due(self) -> list[str]:
        """Channels with a job whose time has come (or that waits on the rate limit)."""
        now = self.clock.now()
        return [name for name, jobs in self._jobs.items() if any(j.due <= now for j in jobs)]

    def _limiter(self, name: str) -> ChannelRateLimiter:
        limits = self.limits.get(name, self.limit)
        found = self._limiters.get(name)
        if found is None or found.limits != limits:
            found = self._limiters[name] = ChannelRateLimiter(limits)
        return found

    def pending(self, channel: str | None = None) -> list[DeliveryJob]:
        if channel is not None:
            return list(self._jobs.get(channel, []))
        return [job for jobs in self._jobs.values() for job in jobs]

    async def run_due(self) -> int:
        """Send every due job (channels concurrently); return how many were delivered."""
        counts = await asyncio.gather(*(self.run_channel(name) for name in list(self._jobs)))
        return sum(counts)

    async def run_channel(self, name: str) -> int:
        """Send one channel's due jobs, in the order they came due, up to
        ``concurrency`` at a time; return how many were delivered. The caller runs
        at most one of these per channel at a time."""
        delivered = 0
        limiter = self._limiter(name)
        while self.may_send():
            now = self.clock.now()
            due = sorted(
                (j for j in self._jobs.get(name, []) if not j.finished and j.due <= now),
                key=lambda j: (j.due, j.first_try),
            )
            wave: list[DeliveryJob] = []
            for job in due[: max(1, self.concurrency)]:
                allowed = limiter.next_allowed(now)
                if allowed > now:
                    # Over the rate limit: this job and the ones after it wait, in order.
                    for waiting in due[len(wave) :]:
                        waiting.due = max(waiting.due, allowed)
                    break
                limiter.record(now)
                wave.append(job)
            if not wave:
                break
            results = await asyncio.gather(*(self._attempt(job, now) for job in wave))
            delivered += sum(results)
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
                await self._log(_with(entry, Outcome.FAILED, exc.status_code, str(exc)))
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

    async def _log(self, attempt: DeliveryAttempt) -> None:
        self.recent.setdefault(attempt.channel, deque(maxlen=RECENT_ATTEMPTS)).append(attempt)
        self.outcomes.setdefault(attempt.channel, Counter())[attempt.outcome] += 1
        await self.record(attempt)

    async def _finish(
        self,
        job: DeliveryJob,
        entry: DeliveryAttempt,
        outcome: Outcome,
        status_code: int | None,
        error: str,
    ) -> None:
        job.attempts = -1  # done: removed from the queue after this pass
        await self._log(_with(entry, outcome, status_code, error))


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
