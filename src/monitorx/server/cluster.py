"""A project's part in a cluster: the leases its replica holds or waits for.

Where replicas share a PostgreSQL store and Redis (`Settings.distributed`), each
project has two leases (store.leases): ``jobs`` — its holder runs the scheduled
jobs that must run once per cluster (rollups, retention, clears, evaluations,
scans, drift runs) — and ``notifier`` — its holder sends the notifications of
every replica's alerts (alerting/notify/leadership.py), among the replicas with
notifications on. Every replica serves every endpoint either way; a lease moves
when its holder dies (within ``LEASE_TTL_S + RENEW_EVERY_S``).
"""

from __future__ import annotations

__all__ = ["ClusterRoles"]

from dataclasses import dataclass

from monitorx.alerting.notify.leadership import NotifierLeadership
from monitorx.alerting.notify.notifier import Notifier
from monitorx.core import Clock
from monitorx.core.health import Check, Health
from monitorx.store import Storage
from monitorx.store.leases import HeldLease

JOBS_LEASE = "jobs"


@dataclass(frozen=True, slots=True)
class ClusterRoles:
    jobs: HeldLease
    notifier: NotifierLeadership | None
    """None on a replica with notifications off: it never notifies."""

    @classmethod
    def build(
        cls, store: Storage, clock: Clock, holder: str, notifier: Notifier | None
    ) -> ClusterRoles:
        leadership = None
        if notifier is not None:
            leadership = NotifierLeadership(notifier, store, clock, holder)
        return cls(HeldLease(store, JOBS_LEASE, holder), leadership)

    def _leases(self) -> list[HeldLease]:
        return [self.jobs] + ([] if self.notifier is None else [self.notifier.lease])

    async def start(self) -> None:
        for lease in self._leases():
            await lease.renew_once()  # the first round at once: a lone replica leads now
            lease.start()

    async def stop(self) -> None:
        # Released, not left to run out: another replica takes over at once.
        for lease in self._leases():
            await lease.stop()

    def health(self) -> Check:
        """Healthy either way (another replica may hold a lease); says which leases
        this replica holds, and the store error that keeps it from renewing."""
        leases = {lease.name: lease.to_json() for lease in self._leases()}
        errors = [f"{n}: {d['last_error']}" for n, d in leases.items() if d["last_error"]]
        status = Health.DEGRADED if errors else Health.HEALTHY
        return Check(status, "; ".join(errors), {"leases": leases})
