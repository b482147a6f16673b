"""The audit trail: every change made through the API, and every refused
credential, recorded in the store before the answer goes out.

What is recorded is decided here, once, from the route a request reached: every
``POST``, ``PUT``, ``PATCH`` and ``DELETE`` except the routes that carry data
rather than change anything (`DATA_ROUTES`: metrics, samples, records, labels, the
standard ways in, and analyses that only compute); and, on any route, a request
answered 401 (a missing, unknown or revoked credential: a failed login). The
actor is the key's or user's name (never its secret), the action the API
operation (``create_rule``, ``acknowledge_alert``, ``authenticate``), the target
the path, the outcome the answer's class.

The entry is written before the response starts, so an answered change is in the
log; when the store cannot take it, the error is logged and the answer still goes
out (the change was made).

A successful change of the monitoring configuration (`CONFIG_ACTIONS`: models,
thresholds, rules, SLOs, channels, routes, silences, quality and drift settings)
is also posted as an event (``event_type`` ``config_change``, ``source``
``monitorx``), so that it is drawn beside the metrics and read by an alert's
context like a deploy. Its model is the one the path names, else the answer's
``model_id``; it is written before the answer's last byte goes out.
"""

from __future__ import annotations

__all__ = [
    "CONFIG_ACTIONS",
    "DATA_ROUTES",
    "MUTATING_METHODS",
    "AuditTrail",
    "AuditTrailMiddleware",
]

import logging
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitorx.core import Clock
from monitorx.core.audit import AuditEntry, AuditOutcome
from monitorx.core.events import Event
from monitorx.core.identifiers import is_identifier
from monitorx.store import AuditStore, EventStore

logger = logging.getLogger("monitorx.audit")

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

DATA_ROUTES = frozenset(
    {
        # Data in: counted by MonitorX's own metrics, too many to audit one by one.
        "ingest_metric",
        "ingest_batch",
        "ingest_samples",
        "ingest_drift",
        "post_records",
        "post_labels",
        "remote_write",
        "export_metrics",
        "write_v1",
        "write_v2",
        "post_events",
        "post_logs",
        "export_logs",
        # Computations that change nothing but their own results.
        "analyze_drift",
        "analyze_data_quality",
    }
)
"""The names of the mutating routes that are not audited (see the module docstring)."""

CONFIG_ACTIONS = frozenset(
    {
        "create_model",
        "put_model",
        "delete_model",
        "create_rule",
        "put_rule",
        "delete_rule",
        "create_slo",
        "put_slo",
        "delete_slo",
        "put_profile",
        "delete_profile",
        "create_channel",
        "put_channel",
        "delete_channel",
        "create_route",
        "put_route",
        "delete_route",
        "create_silence",
        "expire_silence",
        "put_quality_config",
        "delete_quality_config",
        "put_data_quality_rules",
        "delete_data_quality_rules",
        "put_concept_drift",
        "delete_concept_drift",
        "put_drift_schedule",
        "delete_drift_schedule",
        "put_reference",
    }
)
"""The audited actions that are posted as ``config_change`` events when they succeed."""

CONFIG_EVENT = "config_change"
OWN_EVENT_SOURCE = "monitorx"
_MODEL_PATH = re.compile(r"/models/([^/]+)")
_ANSWER_READ = 65_536  # of an answer, the bytes read for its model and id

# The principal the auth dependency found, kept in the request's state.
PRINCIPAL_STATE = "principal"
_UNKNOWN_ACTOR = "anonymous"


class AuditTrail:
    """Writes and keeps the audit log of one project."""

    def __init__(
        self,
        store: AuditStore,
        clock: Clock,
        project: str,
        retention_s: float,
        events: EventStore | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._clock = clock
        self.project = project
        self._retention = timedelta(seconds=retention_s)

    async def record(
        self, actor: str, action: str, target: str, source_ip: str, status: int
    ) -> None:
        entry = AuditEntry(
            self._clock.now(),
            actor,
            self.project,
            action,
            target,
            source_ip,
            AuditOutcome.of_status(status),
        )
        try:
            await self._store.write_audit([entry])
        except Exception:
            logger.exception("could not record %s of %s in the audit log", action, target)

    async def record_change(self, actor: str, action: str, target: str, answer: bytes) -> None:
        """Post a successful config change as a ``config_change`` event (see the
        module docstring); ``answer`` is the start of the response's body."""
        if self._events is None:
            return
        found = _MODEL_PATH.search(target)
        model_id = found.group(1) if found else None
        thing_id = None
        try:
            data = orjson.loads(answer) if answer else None
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            # A model's own answer names it by "id"; anything else by "model_id".
            key = "id" if action.endswith("_model") else "model_id"
            if model_id is None and isinstance(data.get(key), str):
                model_id = data[key]
            if isinstance(data.get("id"), str):
                thing_id = data["id"]
        if model_id is not None and not is_identifier(model_id):
            model_id = None
        attributes = {"action": action, "target": target, "actor": actor}
        if thing_id is not None:
            attributes["id"] = thing_id
        event = Event(
            id=uuid.uuid4().hex,
            time=self._clock.now(),
            event_type=CONFIG_EVENT,
            message=f"{action.replace('_', ' ')} {target} by {actor}",
            model_id=model_id,
            source=OWN_EVENT_SOURCE,
            attributes=attributes,
        )
        try:
            await self._events.write_events([event])
        except Exception:
            logger.exception("could not post the event of %s of %s", action, target)

    async def drop_expired(self) -> None:
        """Delete the entries past the audit log's retention (scheduled)."""
        await self._store.delete_audit_before(self._clock.now() - self._retention)


def _audited_action(scope: Scope, status: int) -> str | None:
    """The action to record for a request answered ``status``, or None."""
    if status == 401:
        return "authenticate"
    route = scope.get("route")
    name = getattr(route, "name", None)
    if name is None or scope["method"] not in MUTATING_METHODS or name in DATA_ROUTES:
        return None
    return str(name)


class AuditTrailMiddleware:
    """ASGI middleware that records audited requests through the `AuditTrail` of
    their project (``trails`` gives it from the request's scope)."""

    def __init__(self, app: ASGIApp, trails: Callable[[Scope], AuditTrail]) -> None:
        self.app = app
        self.trails = trails

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        change: str | None = None  # a config change answered with success
        answer = bytearray()

        async def send_after_recording(message: Message) -> None:
            nonlocal change
            if message["type"] == "http.response.start":
                status = int(message["status"])
                action = _audited_action(scope, status)
                if action is not None:
                    await self.trails(scope).record(
                        _actor(scope), action, scope["path"], _source_ip(scope), status
                    )
                    if action in CONFIG_ACTIONS and status < 300:
                        change = action
            elif message["type"] == "http.response.body" and change is not None:
                if len(answer) < _ANSWER_READ:
                    answer.extend(message.get("body", b"")[: _ANSWER_READ - len(answer)])
                if not message.get("more_body", False):
                    action, change = change, None
                    await self.trails(scope).record_change(
                        _actor(scope), action, scope["path"], bytes(answer)
                    )
            await send(message)

        await self.app(scope, receive, send_after_recording)


def _actor(scope: Scope) -> str:
    principal = scope.get("state", {}).get(PRINCIPAL_STATE)
    return str(getattr(principal, "name", _UNKNOWN_ACTOR))


def _source_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""
