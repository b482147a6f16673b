"""Configuration changed through any replica, in effect on every replica.

Each replica holds its projects' configuration in memory (models, thresholds,
profiles, rules, SLOs, quality checks, drift schedules, concept-drift monitors,
channels, routes, silences, keys, users). `ConfigSync` reads it again when the
store says another process changed it (`Storage.config_changes`: PostgreSQL's
LISTEN/NOTIFY): the projects named, or every project after the listener
(re)connected. A notification is a hint that can be lost, so every
``config_reload_s`` everything is read again whatever was heard.

Changes that arrive together are read once: a change wakes the reloader, which
waits `COALESCE_S` for the rest of a burst, then reloads each project named since
(100 changes in 50 ms: one or two reloads, not 100). One reload runs at a time;
what arrives meanwhile is read by the next.
"""

from __future__ import annotations

__all__ = ["COALESCE_S", "ConfigSync", "ReloadProjects"]

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from monitorx.core import Clock
from monitorx.core.health import Check, Health
from monitorx.store.config_changes import ConfigChanges

logger = logging.getLogger("monitorx.server")

COALESCE_S = 0.05
"""How long a change waits for the rest of its burst before the reload starts."""
FIRST_CONNECTION_WAIT_S = 10.0
"""How long start-up waits for the listener to connect (it goes on listening after)."""

ReloadProjects = Callable[[frozenset[str] | None], Awaitable[None]]
"""Read the configuration of these projects again (None: of every project)."""


class ConfigSync:
    """Reloads configuration on the changes ``changes`` hears, and every
    ``full_reload_s`` in any case."""

    def __init__(
        self,
        changes: ConfigChanges,
        clock: Clock,
        full_reload_s: float,
        coalesce_s: float = COALESCE_S,
    ) -> None:
        self._changes = changes
        self._clock = clock
        self._full_reload_s = full_reload_s
        self._coalesce_s = coalesce_s
        self._reload: ReloadProjects | None = None
        self._pending: set[str] = set()
        self._everything = False
        self._wake = asyncio.Event()
        self._heard_first = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.reloads = 0
        """Reloads done (a full one or of some projects)."""
        self.full_reloads = 0
        self.failed_reloads = 0
        self.last_reload_at: datetime | None = None
        self.last_full_reload_at: datetime | None = None
        self._last_error = ""

    def attach(self, reload: ReloadProjects) -> None:
        """What reloads the projects (the assembly's, which is built after this)."""
        self._reload = reload

    @property
    def listening(self) -> bool:
        """True while changes are heard as they happen."""
        return self._changes.connected

    async def start(self) -> None:
        """Start listening, and wait (a while) until changes are heard: a server
        that says it is up hears the changes made from then on."""
        self._tasks = [
            asyncio.create_task(self._hear(), name="monitorx-config-listener"),
            asyncio.create_task(self._apply(), name="monitorx-config-reload"),
        ]
        try:
            await asyncio.wait_for(self._heard_first.wait(), FIRST_CONNECTION_WAIT_S)
        except TimeoutError:
            logger.warning(
                "not listening for configuration changes yet; those of other replicas "
                "take effect within %g s until the listener connects",
                self._full_reload_s,
            )

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def health(self) -> Check:
        """Degraded while changes are not heard (they arrive by the full reload
        alone), or when the latest reload failed."""
        measured = {
            "listening": self.listening,
            "reloads": self.reloads,
            "full_reloads": self.full_reloads,
            "failed_reloads": self.failed_reloads,
            "last_reload_at": _iso(self.last_reload_at),
            "last_full_reload_at": _iso(self.last_full_reload_at),
            "full_reload_s": self._full_reload_s,
        }
        if self._last_error:
            return Check(
                Health.DEGRADED, f"reloading configuration failed: {self._last_error}", measured
            )
        if not self.listening:
            reason = (
                "not listening for configuration changes: those made through other "
                f"replicas take effect within {self._full_reload_s:g} s (the full reload)"
            )
            return Check(Health.DEGRADED, reason, measured)
        return Check(Health.HEALTHY, "", measured)

    async def _hear(self) -> None:
        listener = self._changes.listen()
        try:
            async for change in listener:
                if change.everything:
                    self._everything = True
                    self._heard_first.set()
                self._pending |= change.projects
                self._wake.set()
        finally:
            await _close(listener)

    async def _apply(self) -> None:
        next_full = time.monotonic() + self._full_reload_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_full - time.monotonic()))
            if self._wake.is_set():
                # The rest of a burst: one reload for all of it.
                await asyncio.sleep(self._coalesce_s)
            self._wake.clear()
            if time.monotonic() >= next_full:
                self._everything = True
            everything, self._everything = self._everything, False
            projects, self._pending = frozenset(self._pending), set()
            if not everything and not projects:
                continue
            if everything:
                next_full = time.monotonic() + self._full_reload_s
            await self._reload_once(None if everything else projects)

    async def _reload_once(self, projects: frozenset[str] | None) -> None:
        if self._reload is None:
            return
        try:
            await self._reload(projects)
        except Exception as exc:
            self.failed_reloads += 1
            self._last_error = str(exc)
            logger.exception(
                "reloading the configuration of %s failed", projects or "every project"
            )
            return
        self._last_error = ""
        self.reloads += 1
        self.last_reload_at = self._clock.now()
        if projects is None:
            self.full_reloads += 1
            self.last_full_reload_at = self.last_reload_at


async def _close(listener: object) -> None:
    aclose = getattr(listener, "aclose", None)
    if aclose is not None:
        await aclose()


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
