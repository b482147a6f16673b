"""Who may do what: the four roles of API.md and the permissions they grant.

``viewer`` ⊂ ``editor`` ⊂ ``admin``; ``ingest`` stands apart and may only write
data; ``editor`` and ``admin`` may also do everything ``ingest`` may. Each route
needs one `Permission` (the server's table says which); a role grants a set.
"""

from __future__ import annotations

__all__ = ["LEGACY_ROLES", "ROLE_PERMISSIONS", "Permission", "Role", "parse_role"]

from enum import StrEnum

from monitorx.core.errors import ValidationError


class Permission(StrEnum):
    READ = "read"
    """Every read: metrics, models, alerts, configuration (secrets never shown)."""
    INGEST = "ingest"
    """Data in: metrics, custom metrics, drift metrics, records, labels, OTLP, line
    protocol, remote_write."""
    EDIT = "edit"
    """Configuration: models, rules, channels, routes, silences, dashboards and the
    per-model settings; acknowledging and resolving alerts."""
    ADMIN = "admin"
    """Keys, users, the audit log, erasure."""


class Role(StrEnum):
    INGEST = "ingest"
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    def grants(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self]


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.INGEST: frozenset({Permission.INGEST}),
    Role.VIEWER: frozenset({Permission.READ}),
    Role.EDITOR: frozenset({Permission.READ, Permission.INGEST, Permission.EDIT}),
    Role.ADMIN: frozenset(Permission),
}

LEGACY_ROLES: dict[str, Role] = {"read": Role.VIEWER, "write": Role.INGEST}
"""The roles of ``MONITORX_API_KEYS`` before these four, and what they are now."""


def parse_role(text: str, field: str = "role") -> tuple[Role, bool]:
    """The role named ``text`` and whether it was a legacy name (`LEGACY_ROLES`);
    `ValidationError` naming ``field`` for any other."""
    name = text.strip().lower()
    if name in LEGACY_ROLES:
        return LEGACY_ROLES[name], True
    try:
        return Role(name), False
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ValidationError(f"unknown role {text!r}; use {choices}", field) from None
