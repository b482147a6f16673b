"""The admin key of a first start with auth on and no key configured.

``monitorx serve`` with auth on, no ``MONITORX_API_KEYS`` and no JWT secret would
admit nobody. On the first such start it creates an admin key in the store, where
only its hash is kept (as every key `monitorx keys create` makes), and writes the
key itself once to ``<data_dir>/admin-api-key`` (mode 0600) for its owner to read.
Later starts find the file and create nothing: the key works from the store.

A project that already has live keys gets no bootstrap key (its admins made
theirs). A file from an earlier version holds an ``mx_…`` key that is in no store:
it is still accepted, from the file, as a configured key, until it is replaced
(docs/security.md#api-keys).
"""

from __future__ import annotations

__all__ = ["BOOTSTRAP_KEY_FILE", "Bootstrap", "bootstrap_admin_key"]

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitorx.cli.data_commands import project_store
from monitorx.core import SystemClock
from monitorx.core.access import Role

if TYPE_CHECKING:
    from monitorx.server.settings import Settings

BOOTSTRAP_KEY_FILE = "admin-api-key"
# The keys earlier versions wrote to the file: random, and in no store.
LEGACY_PREFIX = "mx_"
BOOTSTRAP_KEY_NAME = "bootstrap admin key (admin-api-key)"


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """What the first start did about the admin key."""

    path: Path
    created: bool  # a key was created in the store and written to ``path`` now
    legacy_key: str | None  # an earlier version's key, to accept as configured
    message: str  # one line for the start-up banner


async def bootstrap_admin_key(settings: Settings) -> Bootstrap:
    """Create the bootstrap admin key when the project has none (see the module
    docstring); the store must not be open elsewhere (an embedded one)."""
    path = settings.data_dir / BOOTSTRAP_KEY_FILE
    how = (
        "Send it as the X-API-Key header (or set MONITORX_AUTH_ENABLED=false on a trusted machine)."
    )
    if path.exists():
        key = path.read_text().strip()
        if key.startswith(LEGACY_PREFIX):
            message = (
                f"Auth is on and no API key was configured: using the admin key in {path} "
                "(an earlier version's; replace it with `monitorx keys create --role admin`, "
                f"whose keys the store keeps only as hashes). {how}"
            )
            return Bootstrap(path, created=False, legacy_key=key, message=message)
        message = f"Auth is on and no API key was configured: the admin key is in {path}. {how}"
        return Bootstrap(path, created=False, legacy_key=None, message=message)
    if await _create_if_none(settings, path):
        message = f"Auth is on and no API key was configured: created an admin key in {path}. {how}"
        return Bootstrap(path, created=True, legacy_key=None, message=message)
    message = (
        "Auth is on and no API key was configured: use one of the project's keys "
        "(`monitorx keys list`)."
    )
    return Bootstrap(path, created=False, legacy_key=None, message=message)


async def _create_if_none(settings: Settings, path: Path) -> bool:
    from monitorx.server.keys import KeyRing

    async with project_store(settings, settings.project_id) as store:
        keys = KeyRing(store, SystemClock(), settings.project_id)
        if any(k.revoked_at is None for k in await keys.list()):
            return False
        record, key = await keys.create(Role.ADMIN, BOOTSTRAP_KEY_NAME)
        try:
            _write_private(path, key)
        except OSError:
            await keys.revoke(record.id)  # a key nobody could read would block the next start
            raise
    return True


def _write_private(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
