"""From alert transitions to delivered notifications, surviving restarts.

The engine tells the notifier of every transition (`handle`). A firing or resolved
alert goes to the dispatcher (routing, grouping, dedup; muted alerts — silenced or
inhibited — are kept but not sent); a flushed group becomes one delivery job per
channel on the delivery queue (rate limits, retries). Each channel is sent by its
own task, so a slow or dead receiver delays only itself, and nothing here runs on
the ingest path.

What survives a restart, as documents in the store:

- ``delivery_job``: every job not yet delivered or given up (written before the
  group counts as notified, removed when the job ends);
- ``nflog``: what each receiver of each group last heard, so re-adding the active
  alerts after a restart notifies only what is new or due for a repeat;
- ``escalation``: which escalation steps each alert has reached.

Escalation: a route's ``escalate`` steps send a firing alert that nobody has
acknowledged ``after`` its start to more channels; the resolve follows to those
channels that want resolves. Acknowledging an alert stops further steps and tells
channels that know acknowledgement (PagerDuty) on every channel the alert reached.
"""

from __future__ import annotations

__all__ = ["Notifier"]

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from monitorx.alerting.engine import AlertChange, AlertEvent
from monitorx.alerting.notify.channels.base import ChannelError, SupportsAcknowledge
from monitorx.alerting.notify.config import AlertingConfig
from monitorx.alerting.notify.delivery import (
    DeliveryAttempt,
    DeliveryJob,
    DeliveryPolicy,
    DeliveryQueue,
    Outcome,
    RateLimit,
)
from monitorx.alerting.notify.dispatch import Dispatcher, NotificationLogEntry
from monitorx.alerting.notify.notification import (
    Notification,
    NotifiedAlert,
    notification_from_json,
    notification_to_json,
    notified_alert,
)
from monitorx.alerting.notify.routing import match_routes
from monitorx.alerting.notify.silences import (
    DEFAULT_INHIBIT_RULES,
    InhibitRule,
    inhibited,
    silenced_by,
)
from monitorx.core import Alert, AlertStatus, Clock
from monitorx.store import DocumentStore

logger = logging.getLogger("monitorx.alerting.notify.notifier")
JOB, NFLOG, ESCALATION = "delivery_job", "nflog", "escalation"


def _attempt_json(attempt: DeliveryAttempt) -> str:
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


def _job_json(job: DeliveryJob) -> str:
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


def _job_from(data: dict[str, Any]) -> DeliveryJob:
    return DeliveryJob(
        channel=data["channel"],
        notification=notification_from_json(data["notification"]),
        first_try=datetime.fromisoformat(data["first_try"]),
        due=datetime.fromisoformat(data["due"]),
        attempts=data["attempts"],
        id=data["id"],
    )


class Notifier:
    def __init__(
        self,
        storage: DocumentStore,
        clock: Clock,
        config: AlertingConfig,
        *,
        external_url: str = "",
        policy: DeliveryPolicy | None = None,
        limit: RateLimit | None = None,
        inhibit_rules: Sequence[InhibitRule] = DEFAULT_INHIBIT_RULES,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._config = config
        self._external_url = external_url
        self._inhibit_rules = tuple(inhibit_rules)
        self.queue = DeliveryQueue(
            config.senders,
            clock,
            policy or DeliveryPolicy(),
            limit or RateLimit(),
            limits=config.limits,
            record=self._record,
        )
        self.dispatcher = Dispatcher(
            (),
            clock,
            self._deliver,
            muted=self.muted,
            external_url=external_url,
            on_log=self._save_log,
            on_drop=self._drop_log,
        )
        config.on_change(self._config_changed)
        self._firing: dict[str, NotifiedAlert] = {}  # by fingerprint
        self._acknowledged: set[str] = set()  # fingerprints
        self._escalated: dict[str, dict[str, tuple[str, ...]]] = {}  # fp → step → channels
        self._log_docs: dict[str, set[str]] = {}  # group key → nflog document keys
        self._jobs: dict[str, tuple[str, int, datetime]] = {}  # persisted: channel, attempts, due
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    @property
    def config(self) -> AlertingConfig:
        """The channels, routes and silences this notifier sends by."""
        return self._config

    def _config_changed(self) -> None:
        self.dispatcher.set_routes(self._config.route_tree())
        self.dispatcher.set_send_resolved(self._config.send_resolved())

    # Start and stop ------------------------------------------------------------------

    async def load(self, active: Sequence[Alert]) -> None:
        """Restore what a previous run left, then take in the alerts still active."""
        for key, body in await self._storage.list_documents(NFLOG):
            data = json.loads(body)
            entry = NotificationLogEntry(
                frozenset(data["firing"]),
                frozenset(data["resolved"]),
                datetime.fromisoformat(data["sent_at"]),
            )
            self.dispatcher.restore_log(data["group_key"], data["receiver"], entry)
            self._log_docs.setdefault(data["group_key"], set()).add(key)
        for _, body in await self._storage.list_documents(JOB):
            job = _job_from(json.loads(body))
            self.queue.restore(job)
            self._jobs[job.id] = (job.channel, job.attempts, job.due)
        for _, body in await self._storage.list_documents(ESCALATION):
            data = json.loads(body)
            self._escalated.setdefault(data["fingerprint"], {})[data["step"]] = tuple(
                data["channels"]
            )
        for alert in active:
            if alert.status is AlertStatus.FIRING:
                await self.handle(AlertEvent(AlertChange.UPDATED, alert))
                if alert.acknowledged:
                    self._acknowledged.add(notified_alert(alert).fingerprint)

    async def stop(self) -> None:
        tasks = [*self._pumps.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Alert transitions ---------------------------------------------------------------

    async def handle(self, event: AlertEvent) -> None:
        """The engine's listener: route the alert, flush what is due at once."""
        alert = event.alert
        if alert.status is AlertStatus.PENDING:
            return
        notified = notified_alert(alert, self._external_url)
        if event.change is AlertChange.ACKNOWLEDGED:
            self._acknowledged.add(notified.fingerprint)
            self._spawn(self._acknowledge(alert, notified))
            return
        async with self._lock:
            if notified.firing:
                self._firing[notified.fingerprint] = notified
            else:
                self._firing.pop(notified.fingerprint, None)
                self._acknowledged.discard(notified.fingerprint)
                await self._end_escalations(notified)
            self.dispatcher.add(notified)
            for group in self.dispatcher.due():
                await self.dispatcher.flush(group)
        self._pump()

    async def tick(self) -> None:
        """Scheduled: flush groups whose timers ran out, escalate, start due sends."""
        async with self._lock:
            await self.dispatcher.flush_due()
            await self._escalate()
        self._pump()

    def muted(self, alert: NotifiedAlert) -> bool:
        """Silenced or inhibited now."""
        now = self._clock.now()
        if silenced_by(self._config.silences.values(), alert.labels, now):
            return True
        firing = [a.labels for a in self._firing.values()]
        return inhibited(alert.labels, firing, self._inhibit_rules)

    def silenced_by(self, alert: Alert) -> list[str]:
        labels = notified_alert(alert).labels
        return silenced_by(self._config.silences.values(), labels, self._clock.now())

    # Delivery ------------------------------------------------------------------------

    async def _deliver(self, notification: Notification) -> bool:
        """Hand a notification to the delivery queue (kept in the store first)."""
        channel = notification.receiver
        if channel not in self._config.senders:
            reason = "channel is disabled" if channel in self._config.channels else "no channel"
            alert_ids = tuple(a.alert_id for a in notification.alerts if a.alert_id)
            now = self._clock.now()
            attempt = DeliveryAttempt(
                channel, notification.group_key, alert_ids, 0, now, Outcome.GAVE_UP, None, reason
            )
            await self._record(attempt)
            return True
        job = self.queue.submit(channel, notification)
        await self._storage.put_document(JOB, job.id, _job_json(job))
        self._jobs[job.id] = (channel, job.attempts, job.due)
        return True

    def _pump(self) -> None:
        for name in self.queue.channels_due():
            running = self._pumps.get(name)
            if running is None or running.done():
                self._pumps[name] = asyncio.create_task(self._send(name), name=f"notify-{name}")

    async def _send(self, channel: str) -> None:
        try:
            await self.queue.run_channel(channel)
        except Exception:
            logger.exception("delivering to channel %s failed", channel)
        pending = {job.id: job for job in self.queue.pending(channel)}
        for job_id, (owner, attempts, due) in list(self._jobs.items()):
            if owner != channel:
                continue
            job = pending.get(job_id)
            if job is None:  # delivered or given up
                await self._storage.delete_document(JOB, job_id)
                self._jobs.pop(job_id, None)
            elif (job.attempts, job.due) != (attempts, due):
                await self._storage.put_document(JOB, job.id, _job_json(job))
                self._jobs[job_id] = (channel, job.attempts, job.due)

    async def _record(self, attempt: DeliveryAttempt) -> None:
        if attempt.outcome is not Outcome.DELIVERED:
            logger.warning(
                "notification to %s: %s (attempt %d) %s",
                attempt.channel,
                attempt.outcome.value,
                attempt.attempt,
                attempt.error,
            )
        if attempt.alert_ids:
            await self._storage.append_delivery_log(
                attempt.alert_ids, attempt.at, _attempt_json(attempt)
            )

    async def deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        """Every attempt to notify about an alert, oldest first."""
        return [json.loads(body) for body in await self._storage.list_delivery_log(alert_id)]

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Notification log ----------------------------------------------------------------

    async def _save_log(self, group_key: str, receiver: str, entry: NotificationLogEntry) -> None:
        key = f"{receiver} {group_key}"
        body = {
            "group_key": group_key,
            "receiver": receiver,
            "firing": sorted(entry.firing),
            "resolved": sorted(entry.resolved),
            "sent_at": entry.sent_at.isoformat(),
        }
        await self._storage.put_document(NFLOG, key, json.dumps(body))
        self._log_docs.setdefault(group_key, set()).add(key)

    async def _drop_log(self, group_key: str) -> None:
        for key in self._log_docs.pop(group_key, set()):
            await self._storage.delete_document(NFLOG, key)

    # Escalation and acknowledgement --------------------------------------------------

    def _escalation_steps(self, alert: NotifiedAlert) -> list[tuple[str, float, tuple[str, ...]]]:
        steps = []
        for match in match_routes(self._config.route_tree(), alert.labels):
            record = self._config.routes.get(match.path[1])
            for index, step in enumerate(record.escalations if record else ()):
                steps.append(
                    (f"{record.id if record else ''}/{index}", step.after_s, step.channels)
                )
        return steps

    async def _escalate(self) -> None:
        now = self._clock.now()
        for fp, alert in list(self._firing.items()):
            if fp in self._acknowledged or self.muted(alert):
                continue
            reached = self._escalated.setdefault(fp, {})
            for step, after_s, channels in self._escalation_steps(alert):
                if step in reached or alert.starts_at + timedelta(seconds=after_s) > now:
                    continue
                for channel in channels:
                    await self._deliver(self._single(channel, alert, f"escalation/{step}"))
                reached[step] = channels
                body = {"fingerprint": fp, "step": step, "channels": list(channels)}
                await self._storage.put_document(ESCALATION, f"{fp} {step}", json.dumps(body))
            if not reached:
                del self._escalated[fp]

    def _single(self, channel: str, alert: NotifiedAlert, route: str) -> Notification:
        key = f'{{{route}}}:{{fingerprint="{alert.fingerprint}"}}'
        return Notification(
            receiver=channel, alerts=(alert,), group_key=key, external_url=self._external_url
        )

    async def _end_escalations(self, resolved: NotifiedAlert) -> None:
        wants = self._config.send_resolved()
        for step, channels in self._escalated.pop(resolved.fingerprint, {}).items():
            for channel in channels:
                if wants.get(channel, True):
                    await self._deliver(self._single(channel, resolved, f"escalation/{step}"))
            await self._storage.delete_document(ESCALATION, f"{resolved.fingerprint} {step}")

    async def _acknowledge(self, alert: Alert, notified: NotifiedAlert) -> None:
        """Tell every acknowledging channel (PagerDuty) the alert reached."""
        channels = {
            c
            for m in match_routes(self._config.route_tree(), notified.labels)
            for c in m.options.receivers
        }
        for reached in self._escalated.get(notified.fingerprint, {}).values():
            channels.update(reached)
        for channel in sorted(channels):
            sender = self._config.senders.get(channel)
            if not isinstance(sender, SupportsAcknowledge):
                continue
            now = self._clock.now()
            key = f"acknowledge:{notified.fingerprint}"
            try:
                result = await sender.acknowledge(alert)
            except ChannelError as exc:
                outcome = DeliveryAttempt(
                    channel, key, (alert.id,), 1, now, Outcome.GAVE_UP, exc.status_code, str(exc)
                )
            else:
                outcome = DeliveryAttempt(
                    channel, key, (alert.id,), 1, now, Outcome.DELIVERED, result.status_code
                )
            await self._record(outcome)
