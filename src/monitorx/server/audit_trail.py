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
"""

from __future__ import annotations

__all__ = ["DATA_ROUTES", "MUTATING_METHODS", "AuditTrail", "AuditTrailMiddleware"]

import logging
from collections.abc import Callable
from datetime import timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitorx.core import Clock
from monitorx.core.audit import AuditEntry, AuditOutcome
from monitorx.store import AuditStore

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
        # Computations that change nothing but their own results.
        "analyze_drift",
        "analyze_data_quality",
    }
)
"""The names of the mutating routes that are not audited (see the module docstring)."""

# The principal the auth dependency found, kept in the request's state.
PRINCIPAL_STATE = "principal"
_UNKNOWN_ACTOR = "anonymous"


class AuditTrail:
    """Writes and keeps the audit log of one project."""

    def __init__(self, store: AuditStore, clock: Clock, project: str, retention_s: float) -> None:
        self._store = store
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

        async def send_after_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                action = _audited_action(scope, status)
                if action is not None:
                    await self.trails(scope).record(
                        _actor(scope), action, scope["path"], _source_ip(scope), status
                    )
            await send(message)

        await self.app(scope, receive, send_after_recording)


def _actor(scope: Scope) -> str:
    principal = scope.get("state", {}).get(PRINCIPAL_STATE)
    return str(getattr(principal, "name", _UNKNOWN_ACTOR))


def _source_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""
