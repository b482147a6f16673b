"""Leases: how replicas sharing a store agree that one of them does a thing.

Work that must happen once per cluster — sending notifications, the scheduled
jobs — runs on the replica that holds its lease. A lease is held for a bounded
time (`LEASE_TTL_S`) and renewed well before it runs out; when its holder dies or
stalls, it runs out and another replica takes it (failover within
``LEASE_TTL_S + RENEW_EVERY_S``). Every change of hands increases the lease's
fencing token, and writes that must come from the holder carry a `Fence`: the
store refuses them (`LeaseLost`) once the token is not the current one, so a
holder that was paused past its lease cannot record anything after it returns.

A holder also stops itself: it counts its lease as held only until the time it
asked for it plus the lease's length, by its own monotonic clock, minus a margin
— so it stops sending before another replica can have started.
"""

from __future__ import annotations

__all__ = ["LEASE_TTL_S", "RENEW_EVERY_S", "Fence", "HeldLease", "LeaseHolder"]

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("monitorx.store.leases")

LEASE_TTL_S = 5.0
RENEW_EVERY_S = 1.0
# What a holder subtracts from its lease when it judges whether it still holds it.
_MARGIN_S = 1.0


@dataclass(frozen=True, slots=True)
class Fence:
    """A lease as its holder knows it: a write fenced with it is stored only while
    the lease is still this holder's, with this token."""

    name: str
    holder: str
    token: int


class LeaseHolder(Protocol):
    """What a `HeldLease` needs of the store (`LeaseStore`)."""

    async def acquire_lease(self, name: str, holder: str, ttl_s: float) -> int | None: ...

    async def release_lease(self, name: str, holder: str) -> None: ...


def holder_id() -> str:
    """This process's name as a lease holder: host, pid and a random part (a pid is
    reused; a restarted replica is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


Transition = Callable[[], Awaitable[None]]


class HeldLease:
    """One lease this process tries to hold for as long as it runs: acquired and
    renewed every `RENEW_EVERY_S`; ``on_acquired`` runs when it is won,
    ``on_lost`` when it is lost (or not renewed in time), in order, never at once."""

    def __init__(
        self,
        store: LeaseHolder,
        name: str,
        holder: str,
        *,
        on_acquired: Transition | None = None,
        on_lost: Transition | None = None,
        ttl_s: float = LEASE_TTL_S,
        renew_every_s: float = RENEW_EVERY_S,
    ) -> None:
        self._store = store
        self.name = name
        self.holder = holder
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._ttl_s = ttl_s
        self._renew_every_s = renew_every_s
        self._token: int | None = None
        self._valid_until = 0.0  # monotonic
        self._task: asyncio.Task[None] | None = None
        self.acquisitions = 0
        self.last_error = ""

    @property
    def fence(self) -> Fence | None:
        """The fence of the lease while this process holds it, else None."""
        if self._token is None or time.monotonic() >= self._valid_until:
            return None
        return Fence(self.name, self.holder, self._token)

    def holds(self) -> bool:
        return self.fence is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lease {self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._token is not None:
            await self._lose()
            with contextlib.suppress(Exception):
                # Let another replica take over now rather than when it runs out.
                await self._store.release_lease(self.name, self.holder)

    async def renew_once(self) -> bool:
        """Acquire or renew now; True while held (what the loop does each round)."""
        asked_at = time.monotonic()
        try:
            token = await self._store.acquire_lease(self.name, self.holder, self._ttl_s)
        except Exception as exc:  # the store is away: the lease runs out by itself
            self.last_error = f"{type(exc).__name__}: {exc}"
            token = self._token if time.monotonic() < self._valid_until else None
            if token is None and self._token is not None:
                await self._lose()
            return token is not None
        self.last_error = ""
        if token is None:
            if self._token is not None:
                await self._lose()
            return False
        won = self._token is None or token != self._token
        if won and self._token is not None:
            await self._lose()  # taken over and back again in between: start afresh
        self._token = token
        self._valid_until = asked_at + self._ttl_s - _MARGIN_S
        if won:
            self.acquisitions += 1
            logger.info("took lease %s (token %d)", self.name, token)
            if self._on_acquired is not None:
                try:
                    await self._on_acquired()
                except Exception:
                    # Not ready to do the work (the store went away meanwhile): give
                    # the lease up, and try again next round, here or elsewhere.
                    logger.exception("taking over lease %s failed", self.name)
                    await self._lose()
                    with contextlib.suppress(Exception):
                        await self._store.release_lease(self.name, self.holder)
                    return False
        return True

    async def _lose(self) -> None:
        logger.info("lease %s is no longer held here", self.name)
        self._token = None
        self._valid_until = 0.0
        if self._on_lost is not None:
            try:
                await self._on_lost()
            except Exception:
                logger.exception("stepping down from lease %s failed", self.name)

    async def _run(self) -> None:
        while True:
            await self.renew_once()
            await asyncio.sleep(self._renew_every_s)

    def to_json(self) -> dict[str, object]:
        return {
            "holder": self.holder,
            "held": self.holds(),
            "token": self._token,
            "acquisitions": self.acquisitions,
            "last_error": self.last_error or None,
        }
