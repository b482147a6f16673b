"""Leases in SQL: one holder at a time per name, for a bounded time, with a fencing
token that grows whenever the lease changes hands (see `store.leases`).

The database's clock decides expiry, so replicas on machines whose clocks differ
still agree on who holds a lease. A holder renews by acquiring again before its
lease runs out; another holder gets it only once it has run out.
"""

from __future__ import annotations

__all__ = ["LeaseQueries", "fence_guard"]

from datetime import timedelta

from monitorx.store.leases import Fence
from monitorx.store.sql.session import Guard, SQLQueries

_ACQUIRE = (
    "INSERT INTO leases (project_id, name, holder, token, expires_at) "
    "VALUES (%s, %s, %s, 1, now() + %s) "
    "ON CONFLICT (project_id, name) DO UPDATE SET "
    # The token stays while the holder keeps its lease, and grows when it changes
    # hands or is taken again after running out: a write fenced with an older token
    # is refused (`fence_guard`).
    "token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > now() "
    "THEN leases.token ELSE leases.token + 1 END, "
    "holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE leases.holder = excluded.holder OR leases.expires_at <= now() "
    "RETURNING token"
)


def fence_guard(project: str, fence: Fence) -> Guard:
    """The first step of a fenced write: it finds (and, on PostgreSQL, locks until
    the write commits, so a takeover waits for it) the lease as ``fence`` names it,
    unexpired, or refuses the write."""
    return Guard(
        "UPDATE leases SET token = token WHERE project_id = %s AND name = %s "
        "AND holder = %s AND token = %s AND expires_at > now() RETURNING token",
        [project, fence.name, fence.holder, fence.token],
        f"lease {fence.name!r} is no longer held by this replica (token {fence.token})",
    )


class LeaseQueries(SQLQueries):
    """Lease queries, mixed into an SQL store."""

    async def acquire_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        found = await self._sql.write(
            _ACQUIRE, [self._project, name, holder, timedelta(seconds=ttl_s)]
        )
        return int(found[0][0]) if found else None

    async def release_lease(self, name: str, holder: str) -> None:
        # Expired at once, token kept: the next holder's token is still larger.
        await self._sql.write(
            "UPDATE leases SET expires_at = now() - %s "
            "WHERE project_id = %s AND name = %s AND holder = %s",
            [timedelta(seconds=1), self._project, name, holder],
        )

    async def lease_holder(self, name: str) -> tuple[str, int] | None:
        found = await self._sql.read(
            "SELECT holder, token FROM leases WHERE project_id = %s AND name = %s "
            "AND expires_at > now()",
            [self._project, name],
        )
        return (str(found[0][0]), int(found[0][1])) if found else None
