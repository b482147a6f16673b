"""From alert transitions to delivered notifications, surviving restarts.

The engine tells the notifier of every transition (`handle`). A firing or resolved
alert goes to the dispatcher (routing, grouping, dedup; muted alerts — silenced or
inhibited — are kept but not sent); a flushed group becomes one delivery job per
channel on the delivery queue (rate limits, retries). Each channel is sent by its
own task, so a slow or dead receiver delays only itself, and nothing here runs on
the ingest path.

Store writes are gathered and committed together (`_commit`): one transaction for
all the jobs and notification log entries of one step of the engine (an alert
storm is one step), one for all the attempts of one round of sends. A job is
committed before its first send, together with the log entry that counts its
group as notified.

What survives a restart, as documents in the store:

- ``delivery_job``: every job not yet delivered or given up (written before the
  group counts as notified, removed when the job ends);
- ``nflog``: what each receiver of each group last heard, so re-adding the active
  alerts after a restart notifies only what is new or due for a repeat;
- ``escalation``: which escalation steps each alert has reached.

Hints: with a hint source (`set_hint_source`, evaluation.alert_context), each new
alert's one-line root-cause hint is computed in the background `HINT_DELAY_S`
after it fires, once the sends it started are under way (at most
`HINT_CONCURRENCY` at a time, at most `HINT_PENDING_MAX` waiting: an alert
storm does not queue thousands of store reads) and added as the ``hint``
annotation to the notifications handed over after it is ready. A group flushed
before its hint is ready (``group_wait`` 0) goes out without it; its repeats
carry it. The ingest path and the engine never wait for a hint.

Escalation: a route's ``escalate`` steps send a firing alert that nobody has
acknowledged ``after`` its start to more channels; the resolve follows to those
channels that want resolves. Acknowledging an alert stops further steps and tells
channels that know acknowledgement (PagerDuty) on every channel the alert reached.
"""

from __future__ import annotations

__all__ = ["Notifier"]

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from monitorx.alerting.engine import AlertChange, AlertEvent
from monitorx.alerting.notify.channels.base import ChannelError, SupportsAcknowledge
from monitorx.alerting.notify.config import AlertingConfig
from monitorx.alerting.notify.delivery import (
    DEFAULT_CONCURRENCY,
    DeliveryAttempt,
    DeliveryPolicy,
    DeliveryQueue,
    Outcome,
)
from monitorx.alerting.notify.delivery_health import delivery_health
from monitorx.alerting.notify.dispatch import Dispatcher, NotificationLogEntry
from monitorx.alerting.notify.documents import (
    ESCALATION,
    JOB,
    NFLOG,
    attempt_json,
    job_from,
    job_json,
)
from monitorx.alerting.notify.notification import (
    HINT,
    Notification,
    NotifiedAlert,
    notified_alert,
)
from monitorx.alerting.notify.routing import match_routes
from monitorx.alerting.notify.silences import (
    DEFAULT_INHIBIT_RULES,
    InhibitRule,
    inhibited,
    silenced_by,
)
from monitorx.core import Alert, AlertStatus, Clock, LeaseLost
from monitorx.core.health import Check
from monitorx.store import DeliveryLogEntry, DocumentStore
from monitorx.store.leases import Fence

logger = logging.getLogger("monitorx.alerting.notify.notifier")

HintSource = Callable[[Alert], Awaitable[str | None]]
HINT_CONCURRENCY = 2
# A hint is started this long after its alert fires: the sends of the step that
# fired it (an alert storm's first notifications) go out before any hint work.
HINT_DELAY_S = 0.5
HINT_PENDING_MAX = 64
HINTS_KEPT = 10_000


class Notifier:
    def __init__(
        self,
        storage: DocumentStore,
        clock: Clock,
        config: AlertingConfig,
        *,
        external_url: str = "",
        policy: DeliveryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        tick_s: float = 1.0,
        inhibit_rules: Sequence[InhibitRule] = DEFAULT_INHIBIT_RULES,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._config = config
        self._external_url = external_url
        self._inhibit_rules = tuple(inhibit_rules)
        self._tick_s = tick_s
        # Where replicas share the store, the notifier lease (store.leases): sends
        # only while it is held, every write fenced with it.
        self._fence: Callable[[], Fence | None] | None = None
        self.queue = DeliveryQueue(
            config.senders,
            clock,
            policy or DeliveryPolicy(),
            limits=config.limits,
            concurrency=concurrency,
            record=self._record_attempt,
            may_send=self._holds_lease,
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
        # Store writes gathered since the last commit (`_commit`).
        self._puts: dict[tuple[str, str], str] = {}
        self._deletes: set[tuple[str, str]] = set()
        self._log: list[DeliveryLogEntry] = []
        # Root-cause hints by alert id (see the module docstring).
        self._hint_source: HintSource | None = None
        self._hints: dict[str, str] = {}
        self._hints_pending: set[str] = set()
        self._hint_slots = asyncio.Semaphore(HINT_CONCURRENCY)

    def set_hint_source(self, source: HintSource) -> None:
        """Compute a one-line hint for each new alert with ``source``."""
        self._hint_source = source

    def _want_hint(self, alert: Alert) -> None:
        if (
            self._hint_source is None
            or alert.id in self._hints
            or alert.id in self._hints_pending
            or len(self._hints_pending) >= HINT_PENDING_MAX
        ):
            return
        self._hints_pending.add(alert.id)
        self._spawn(self._compute_hint(alert))

    async def _compute_hint(self, alert: Alert) -> None:
        source = self._hint_source
        try:
            await asyncio.sleep(HINT_DELAY_S)
            async with self._hint_slots:
                if source is None:
                    return
                hint = await source(alert)
        except Exception:
            logger.exception("could not compute the hint of alert %s", alert.id)
            return
        finally:
            self._hints_pending.discard(alert.id)
        if len(self._hints) >= HINTS_KEPT:
            self._hints.pop(next(iter(self._hints)))
        self._hints[alert.id] = hint or ""  # "": none found, not computed again

    def hint_of(self, alert_id: str) -> str | None:
        """The hint computed for an alert, if it is ready and found one."""
        return self._hints.get(alert_id) or None

    def _with_hints(self, notification: Notification) -> Notification:
        if not self._hints:
            return notification
        changed = False
        alerts = []
        for alert in notification.alerts:
            hint = self._hints.get(alert.alert_id) if alert.firing else None
            if hint and HINT not in alert.annotations:
                alert = dataclasses.replace(alert, annotations={**alert.annotations, HINT: hint})
                changed = True
            alerts.append(alert)
        return dataclasses.replace(notification, alerts=tuple(alerts)) if changed else notification

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
            job = job_from(json.loads(body))
            self.queue.restore(job)
            self._jobs[job.id] = (job.channel, job.attempts, job.due)
        for _, body in await self._storage.list_documents(ESCALATION):
            data = json.loads(body)
            self._escalated.setdefault(data["fingerprint"], {})[data["step"]] = tuple(
                data["channels"]
            )
        firing = [a for a in active if a.status is AlertStatus.FIRING]
        await self.handle_events([AlertEvent(AlertChange.UPDATED, a) for a in firing])
        self._acknowledged.update(notified_alert(a).fingerprint for a in firing if a.acknowledged)

    async def take_over(self, active: Sequence[Alert], recent: Sequence[Alert]) -> None:
        """`load`, on a replica that has just become the cluster's notifier: also
        the alerts in ``recent`` resolved since a receiver last heard them firing
        (the previous notifier died before it sent the resolve)."""
        await self.load(active)
        heard = self.dispatcher.heard_firing()
        open_ = {notified_alert(a).fingerprint for a in active}
        events = []
        for alert in recent:
            fingerprint = notified_alert(alert).fingerprint
            if alert.resolved and fingerprint in heard and fingerprint not in open_:
                firing = alert.evolve(status=AlertStatus.FIRING, resolved_at=None)
                events += [
                    AlertEvent(AlertChange.UPDATED, firing),
                    AlertEvent(AlertChange.RESOLVED, alert, firing),
                ]
        await self.handle_events(events)

    async def stop(self) -> None:
        tasks = [*self._pumps.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def reset(self) -> None:
        """Stop sending and forget everything in memory: another replica holds the
        notifier lease now, and reads the same state back from the store."""
        await self.stop()
        async with self._lock:
            self._pumps.clear()
            self.queue.clear()
            self.dispatcher.clear()
            self._firing.clear()
            self._acknowledged.clear()
            self._escalated.clear()
            self._log_docs.clear()
            self._jobs.clear()
            self._puts, self._deletes, self._log = {}, set(), []

    def fence_with(self, fence: Callable[[], Fence | None]) -> None:
        """Send only while ``fence`` gives the notifier lease, and fence every write
        with it (alerting/notify/leadership.py)."""
        self._fence = fence

    def _holds_lease(self) -> bool:
        return self._fence is None or self._fence() is not None

    # Alert transitions ---------------------------------------------------------------

    async def handle(self, event: AlertEvent) -> None:
        """`handle_events` of one transition."""
        await self.handle_events([event])

    async def handle_events(self, events: Sequence[AlertEvent]) -> None:
        """The engine's batch listener: route the alerts of one step, flush what is
        due at once, commit the jobs and log entries, start the sends."""
        routed = False
        async with self._lock:
            for event in events:
                alert = event.alert
                if alert.status is AlertStatus.PENDING:
                    continue
                notified = notified_alert(alert, self._external_url)
                if event.change is AlertChange.ACKNOWLEDGED:
                    self._acknowledged.add(notified.fingerprint)
                    self._spawn(self._acknowledge(alert, notified))
                    continue
                if notified.firing:
                    self._firing[notified.fingerprint] = notified
                    self._want_hint(alert)
                else:
                    self._hints.pop(alert.id, None)
                    self._firing.pop(notified.fingerprint, None)
                    self._acknowledged.discard(notified.fingerprint)
                    self._end_escalations(notified)
                self.dispatcher.add(notified)
                routed = True
            if routed:
                for group in self.dispatcher.due():
                    await self.dispatcher.flush(group)
            await self._commit()
        self._pump()

    async def tick(self) -> None:
        """Scheduled: flush groups whose timers ran out, escalate, start due sends."""
        async with self._lock:
            await self.dispatcher.flush_due()
            self._escalate()
            await self._commit()
        self._pump()

    async def _commit(self) -> None:
        """Write what was gathered since the last commit, in one transaction."""
        puts, deletes, log = self._puts, self._deletes, self._log
        if not (puts or deletes or log):
            return
        self._puts, self._deletes, self._log = {}, set(), []
        fence = None
        if self._fence is not None:
            fence = self._fence()
            if fence is None:
                raise LeaseLost("the notifier lease is no longer held here: nothing recorded")
        await self._storage.apply_documents(
            [(kind, key, body) for (kind, key), body in puts.items()],
            sorted(deletes),
            log,
            fence,
        )

    def _put(self, kind: str, key: str, body: str) -> None:
        self._deletes.discard((kind, key))
        self._puts[kind, key] = body

    def _delete(self, kind: str, key: str) -> None:
        self._puts.pop((kind, key), None)
        self._deletes.add((kind, key))

    def health(self) -> Check:
        """See `delivery_health`."""
        return delivery_health(self.queue, self._sending, self._clock.now(), self._tick_s)

    def _sending(self, channel: str) -> bool:
        task = self._pumps.get(channel)
        return task is not None and not task.done()

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
        """The dispatcher's deliver callback: `_hand_over`."""
        return self._hand_over(notification)

    def _hand_over(self, notification: Notification) -> bool:
        """Put a notification on the delivery queue; its job is committed with the
        step's other writes, before any send starts."""
        notification = self._with_hints(notification)
        channel = notification.receiver
        if channel not in self._config.senders:
            reason = "channel is disabled" if channel in self._config.channels else "no channel"
            alert_ids = tuple(a.alert_id for a in notification.alerts if a.alert_id)
            now = self._clock.now()
            attempt = DeliveryAttempt(
                channel, notification.group_key, alert_ids, 0, now, Outcome.GAVE_UP, None, reason
            )
            self._record(attempt)
            return True
        job = self.queue.submit(channel, notification)
        self._put(JOB, job.id, job_json(job))
        self._jobs[job.id] = (channel, job.attempts, job.due)
        return True

    def _pump(self) -> None:
        if not self._holds_lease():
            return
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
                self._delete(JOB, job_id)
                self._jobs.pop(job_id, None)
            elif (job.attempts, job.due) != (attempts, due):
                self._put(JOB, job.id, job_json(job))
                self._jobs[job_id] = (channel, job.attempts, job.due)
        await self._commit()

    async def _record_attempt(self, attempt: DeliveryAttempt) -> None:
        """The delivery queue's record callback (committed after its round of sends)."""
        self._record(attempt)

    def _record(self, attempt: DeliveryAttempt) -> None:
        if attempt.outcome is not Outcome.DELIVERED:
            logger.warning(
                "notification to %s: %s (attempt %d) %s",
                attempt.channel,
                attempt.outcome.value,
                attempt.attempt,
                attempt.error,
            )
        if attempt.alert_ids:
            self._log.append(DeliveryLogEntry(attempt.alert_ids, attempt.at, attempt_json(attempt)))

    async def deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        """Every attempt to notify about an alert, oldest first."""
        return [json.loads(body) for body in await self._storage.list_delivery_log(alert_id)]

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Notification log ----------------------------------------------------------------

    async def _save_log(self, group_key: str, receiver: str, entry: NotificationLogEntry) -> None:
        """The dispatcher's log callback (committed with the step's jobs)."""
        key = f"{receiver} {group_key}"
        body = {
            "group_key": group_key,
            "receiver": receiver,
            "firing": sorted(entry.firing),
            "resolved": sorted(entry.resolved),
            "sent_at": entry.sent_at.isoformat(),
        }
        self._put(NFLOG, key, json.dumps(body))
        self._log_docs.setdefault(group_key, set()).add(key)

    async def _drop_log(self, group_key: str) -> None:
        for key in self._log_docs.pop(group_key, set()):
            self._delete(NFLOG, key)

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

    def _escalate(self) -> None:
        now = self._clock.now()
        for fp, alert in list(self._firing.items()):
            if fp in self._acknowledged or self.muted(alert):
                continue
            reached = self._escalated.setdefault(fp, {})
            for step, after_s, channels in self._escalation_steps(alert):
                if step in reached or alert.starts_at + timedelta(seconds=after_s) > now:
                    continue
                for channel in channels:
                    self._hand_over(self._single(channel, alert, f"escalation/{step}"))
                reached[step] = channels
                body = {"fingerprint": fp, "step": step, "channels": list(channels)}
                self._put(ESCALATION, f"{fp} {step}", json.dumps(body))
            if not reached:
                del self._escalated[fp]

    def _single(self, channel: str, alert: NotifiedAlert, route: str) -> Notification:
        key = f'{{{route}}}:{{fingerprint="{alert.fingerprint}"}}'
        return Notification(
            receiver=channel, alerts=(alert,), group_key=key, external_url=self._external_url
        )

    def _end_escalations(self, resolved: NotifiedAlert) -> None:
        wants = self._config.send_resolved()
        for step, channels in self._escalated.pop(resolved.fingerprint, {}).items():
            for channel in channels:
                if wants.get(channel, True):
                    self._hand_over(self._single(channel, resolved, f"escalation/{step}"))
            self._delete(ESCALATION, f"{resolved.fingerprint} {step}")

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
            self._record(outcome)
        await self._commit()
