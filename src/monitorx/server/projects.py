"""Projects: which one a request acts in, and each project's services.

Every request acts in one project (API.md, "Projects, keys and users"): the
project of its key or token; with auth off, the one the ``X-MonitorX-Project``
header names, else the server's own (``MONITORX_PROJECT_ID``, ``default``).

One process serves every project. `ProjectDirectory` holds each project's
`Services`, built by the same assembly as the server's own project over a project
view of its store (`Storage.for_project`: one connection, pool or file for all),
on first use or at start-up; each built project runs its own background work
(scheduler, alert evaluation, notifications) until the server stops. What is not
one project's is shared: the settings, the clock, the keys and authentication, the
rate limits, the decoder pool, the channels' HTTP client.
"""

from __future__ import annotations

__all__ = ["PROJECT_HEADER", "ProjectDirectory", "project_of"]

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from starlette.requests import HTTPConnection
from starlette.types import Scope

from monitorx.core import StorageError, ValidationError
from monitorx.core.errors import BadHeader
from monitorx.core.identifiers import check_identifier
from monitorx.server.auth import Authenticator, Principal

if TYPE_CHECKING:
    from monitorx.server.deps import Services

logger = logging.getLogger("monitorx.server")

PROJECT_HEADER = "X-MonitorX-Project"
"""With auth off, the project a request acts in (default: the server's own)."""
# Where a request's scope keeps the services of its project, once resolved.
_SERVICES_KEY = "monitorx.project_services"


class ProjectParts(Protocol):
    """What the assembly builds for one project (`monitorx.server.assembly.Assembly`)."""

    @property
    def services(self) -> Services: ...

    @property
    def startup(self) -> list[Callable[[], Awaitable[object]]]: ...

    @property
    def shutdown(self) -> list[Callable[[], Awaitable[object]]]: ...

    @property
    def reload(self) -> list[Callable[[], Awaitable[object]]]: ...


def project_of(auth: Authenticator, principal: Principal | None, headers: Mapping[str, str]) -> str:
    """The project a caller acts in. With auth on, its credential's (the server's
    own for a caller without one, who reaches public routes alone); the header is
    not read, so no key reaches another project. With auth off, the header's
    (`ValidationError` naming it when it is not an identifier), else the server's."""
    if auth.enabled:
        return auth.project if principal is None else principal.project
    named = headers.get(PROJECT_HEADER.lower())
    if named is None:
        return auth.project
    try:
        return check_identifier(named, PROJECT_HEADER)
    except ValidationError as exc:
        raise BadHeader(exc.errors) from None


class ProjectDirectory:
    """Every project's services: the server's own, given; the others built on first
    use, started, and stopped by `close`."""

    def __init__(
        self,
        own: str,
        services: Services,
        build: Callable[[str], ProjectParts],
        own_reload: Sequence[Callable[[], Awaitable[object]]] = (),
    ) -> None:
        """``own_reload``: the steps that read the own project's configuration again."""
        self.own = own
        self._services: dict[str, Services] = {own: services}
        self._shutdowns: dict[str, list[Callable[[], Awaitable[object]]]] = {}
        self._reloads: dict[str, Sequence[Callable[[], Awaitable[object]]]] = {own: own_reload}
        self._build = build
        self._building: dict[str, asyncio.Lock] = {}
        self._closed = False

    @property
    def default(self) -> Services:
        """The services of the server's own project."""
        return self._services[self.own]

    def started(self, project: str) -> Services | None:
        """The services of ``project`` when it is started, else None (never builds)."""
        return self._services.get(project)

    def projects(self) -> list[str]:
        """The projects whose services are built, the server's own among them."""
        return sorted(self._services)

    async def get(self, project: str) -> Services:
        """The services of ``project``, built and started on its first use."""
        found = self._services.get(project)
        if found is not None:
            return found
        lock = self._building.setdefault(project, asyncio.Lock())
        async with lock:
            found = self._services.get(project)
            if found is not None:
                return found
            if self._closed:
                raise StorageError("the server is stopping")
            parts = self._build(project)
            try:
                for step in parts.startup:
                    await step()
            except BaseException:
                logger.exception("project %s could not start", project)
                await _run_all(parts.shutdown, project)
                raise
            self._services[project] = parts.services
            self._shutdowns[project] = parts.shutdown
            self._reloads[project] = parts.reload
            logger.info("serving project %s", project)
            return parts.services

    async def start(self, projects: Iterable[str]) -> None:
        """Build and start ``projects`` now (those with stored keys, at start-up), so
        that their background work runs before their first request."""
        for project in sorted(set(projects)):
            await self.get(project)

    async def reload(self, projects: Iterable[str] | None = None) -> None:
        """Read the configuration of ``projects`` (None: of every started one) again,
        because another process changed it; a project not started here is started
        (it reads its configuration as it starts, and its background work runs here
        as on the replica where it was made). `StorageError` naming the steps that
        failed, after every other step ran."""
        names = sorted(self._services if projects is None else set(projects))
        failed: list[str] = []
        for project in names:
            steps = self._reloads.get(project)
            if steps is None:
                if not self._closed:
                    try:
                        await self.get(project)
                    except Exception as exc:  # logged by `get`; the others go on
                        failed.append(f"{project}: {exc}")
                continue
            # Side by side: one step waiting for a lock (rules being evaluated)
            # holds up none of the others.
            outcomes = await asyncio.gather(*(step() for step in steps), return_exceptions=True)
            for step, outcome in zip(steps, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    logger.error("reloading project %s: %s failed", project, step, exc_info=outcome)
                    failed.append(f"{project}: {outcome}")
                elif isinstance(outcome, BaseException):
                    raise outcome
        if failed:
            raise StorageError("; ".join(failed))

    async def close(self) -> None:
        """Stop every project built here but the server's own (its assembly stops
        it, after these: they share its store)."""
        self._closed = True
        for project in reversed(list(self._shutdowns)):
            await _run_all(self._shutdowns.pop(project), project)
            self._services.pop(project, None)
            self._reloads.pop(project, None)

    async def of_request(self, conn: HTTPConnection) -> Services:
        """The services of the project ``conn`` acts in (`project_of`), kept in its
        scope for the request's other dependencies."""
        found: Services | None = conn.scope.get(_SERVICES_KEY)
        if found is not None:
            return found
        auth = self.default.auth
        principal = auth.identify(conn.scope)
        project = project_of(auth, principal, conn.headers)
        named = conn.headers.get(PROJECT_HEADER.lower())
        if principal is None and named in self._services:
            # A caller without credentials, on the routes open to it (logging in for
            # a token, renewing one): the header names a started project. Never one
            # built for it: nobody may start projects without a key.
            project = named
        services = await self.get(project)
        conn.scope[_SERVICES_KEY] = services
        return services

    async def of_principal(self, principal: Principal, headers: Mapping[str, str]) -> Services:
        """The services of the project a caller authenticated by other means than a
        request's scope acts in (the live WebSocket's first message, a gRPC call)."""
        return await self.get(project_of(self.default.auth, principal, headers))

    def resolved(self, scope: Scope) -> Services:
        """The services a request's dependencies resolved, else the server's own
        project's (a request refused before its project was known)."""
        found: Services | None = scope.get(_SERVICES_KEY)
        return self.default if found is None else found


async def _run_all(steps: list[Callable[[], Awaitable[object]]], project: str) -> None:
    for step in steps:
        try:
            await step()
        except Exception:
            logger.exception("stopping project %s: %s failed", project, step)
