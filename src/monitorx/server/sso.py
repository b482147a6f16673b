"""Who an SSO sign-in is, and the session the dashboard gets for it.

An OpenID provider (`monitorx.server.oidc`) vouches for a person with the claims
of an ID token; `RoleMapping` turns those claims into an `SsoIdentity` — a name
for the audit log, the project, and the role (``oidc_role_map`` over the
``oidc_roles_claim`` claim, else ``oidc_default_role``). The identity signs
in as a user of its own (`sso_username`, made without a password on the first
sign-in), who gets the token pair a password login gets (`TokenService.issue_for`):
a short-lived access token and a rotating refresh token.
"""

from __future__ import annotations

__all__ = ["ROLE_RANK", "RoleMapping", "SsoIdentity", "SsoRefused", "sso_username"]

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from monitorx.core import MonitorXError
from monitorx.core.access import Role, parse_role
from monitorx.core.users import USERNAME_PATTERN as _USERNAME
from monitorx.server.settings import Settings

ROLE_RANK: dict[Role, int] = {Role.INGEST: 0, Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}
"""Which role wins when a person's claim matches several (``ingest`` lowest: it
cannot even read)."""

ANONYMOUS = "anonymous"


class SsoRefused(MonitorXError):
    """A sign-in that does not go through: the page's status and reason, and whom
    it was for (``anonymous`` until the provider named someone)."""

    def __init__(self, reason: str, status: int = 400, actor: str = ANONYMOUS) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.actor = actor


@dataclass(frozen=True, slots=True)
class SsoIdentity:
    """A person the provider vouched for: ``name`` as the audit log shows it
    (``oidc:<email>``, else ``oidc:<sub>``), the project and role mapped to."""

    name: str
    project: str
    role: Role


@dataclass(frozen=True, slots=True)
class RoleMapping:
    """``oidc_role_map`` and its defaults, read once from the settings."""

    served_project: str
    default_project: str
    default_role: Role | None  # None: a person no entry matches is refused
    claim: str
    roles: tuple[tuple[str, str, Role], ...]  # (claim value, project, role), in order

    @classmethod
    def from_settings(cls, settings: Settings) -> RoleMapping:
        project = settings.oidc_default_project or settings.project_id
        roles = []
        for value, target in settings.oidc_role_map.items():
            named, _, role = target.rpartition(":")
            roles.append((value, named or project, parse_role(role, "oidc_role_map")[0]))
        default = settings.oidc_default_role
        return cls(
            served_project=settings.project_id,
            default_project=project,
            default_role=None if default == "none" else Role(default),
            claim=settings.oidc_roles_claim,
            roles=tuple(roles),
        )

    def identity(self, claims: Mapping[str, object]) -> SsoIdentity:
        """The identity of the person ``claims`` (a validated ID token's) describe;
        `SsoRefused` (403) when no role or another project is theirs."""
        name = f"oidc:{_display_name(claims)}"
        held = claims.get(self.claim)
        listed = held if isinstance(held, list) else [held]
        values = {value for value in listed if isinstance(value, str)}
        best: tuple[str, Role] | None = None
        for value, project, role in self.roles:
            if value in values and (best is None or ROLE_RANK[role] > ROLE_RANK[best[1]]):
                best = (project, role)
        if best is None and self.default_role is not None:
            best = (self.default_project, self.default_role)
        if best is None:
            raise SsoRefused(
                f"no role on this server is mapped to your {self.claim!r}: ask an admin "
                "to add one to MONITORX_OIDC_ROLE_MAP",
                403,
                name,
            )
        project, role = best
        if project != self.served_project:
            raise SsoRefused(f"this server does not serve project {project!r}", 403, name)
        return SsoIdentity(name, project, role)


def _display_name(claims: Mapping[str, object]) -> str:
    """A verified email names a person readably; otherwise the provider's stable id."""
    email = claims.get("email")
    if isinstance(email, str) and email and claims.get("email_verified", True) is not False:
        return email
    return str(claims.get("sub", ""))


def sso_username(identity: SsoIdentity) -> str:
    """The user an identity signs in as: ``oidc+<email or sub>`` (a username no
    password user has unless an admin chose it), or ``oidc+<hash of it>`` when it
    holds characters usernames do not."""
    named = identity.name.removeprefix("oidc:")
    username = f"oidc+{named}"
    if _USERNAME.fullmatch(username):
        return username
    return f"oidc+{hashlib.sha256(named.encode()).hexdigest()[:32]}"
