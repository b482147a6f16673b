"""Where the server's secret keys come from: the settings, or the data directory.

``MONITORX_SECRET_KEYS`` (newest first) when it is set. Otherwise a server whose
store is its alone — the embedded DuckDB file, or InfluxDB with its side file in
the data directory — uses ``<data dir>/secret-key``, generated at its first start
(mode 0600). A PostgreSQL store is shared by replicas, which must all hold the same
key: a key generated on one machine would leave the others unable to read the
channels it wrote, so the server refuses to start without ``MONITORX_SECRET_KEYS``.
An in-memory store keeps nothing, so a key for the life of the process does.
"""

from __future__ import annotations

__all__ = ["SHARED_STORE_NEEDS_KEYS", "SecretKeys", "load_secret_keys"]

from dataclasses import dataclass
from pathlib import Path

from monitorx.core import MonitorXError
from monitorx.server.settings import Settings
from monitorx.store.secret_keys import (
    KEY_FILE_NAME,
    SecretKeyRing,
    generate_secret_key,
    read_or_create_key_file,
)

SETTING = "MONITORX_SECRET_KEYS"
SHARED_STORE_NEEDS_KEYS = (
    f"{SETTING} is required with PostgreSQL storage: every replica must encrypt and "
    "decrypt channel secrets with the same key, so the server does not generate one. "
    f"Make a key with `monitorx secrets generate-key` and give it to every replica as "
    f"{SETTING} (docs/security.md#secrets-at-rest)"
)


@dataclass(frozen=True, slots=True)
class SecretKeys:
    """The key ring and where it came from."""

    ring: SecretKeyRing
    source: str  # "MONITORX_SECRET_KEYS", a key file's path, or "memory"
    file: Path | None = None  # the key file, when the keys are kept in one
    created: bool = False  # whether this start created the key file

    def describe(self) -> str:
        """One line for the start-up output (key ids only, never keys)."""
        ids = ", ".join(self.ring.key_ids)
        if self.file is None:
            return f"Channel secrets are encrypted with key {ids} from {self.source}."
        made = "a new key in" if self.created else "the key in"
        return (
            f"Channel secrets are encrypted with {made} {self.file} (mode 0600; key {ids}). "
            f"Back it up with the data: without it they cannot be read."
        )


def _scheme(url: str) -> str:
    return url.partition("://")[0]


def load_secret_keys(settings: Settings) -> SecretKeys:
    """The keys the settings call for, creating ``<data dir>/secret-key`` when the
    store is a single server's and no key is configured; `MonitorXError` for a
    PostgreSQL store without ``MONITORX_SECRET_KEYS``."""
    if settings.secret_keys:
        keys = [k.get_secret_value() for k in settings.secret_keys]
        return SecretKeys(SecretKeyRing(keys, SETTING), SETTING)
    url = settings.resolved_storage_url()
    if _scheme(url) in ("postgresql", "postgres"):
        raise MonitorXError(SHARED_STORE_NEEDS_KEYS)
    if _scheme(url) == "duckdb" and url.endswith(":memory:"):
        return SecretKeys(SecretKeyRing([generate_secret_key()]), "memory")
    path = settings.data_dir / KEY_FILE_NAME
    keys, created = read_or_create_key_file(path)
    return SecretKeys(SecretKeyRing(keys, str(path)), str(path), path, created)
