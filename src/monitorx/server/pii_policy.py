"""This server's masking policy, built from its settings (docs/security.md).

A project's policy is built once, here, and handed to every way in of that project
(`assemble_project`): the server's ``pii_*`` settings, with what ``pii_projects``
gives the project in their place.
"""

from __future__ import annotations

__all__ = ["HASH_KEY_FILE", "pii_policy"]

import os
import secrets
from pathlib import Path

from monitorx.core.pii import CustomPattern, MaskMode, PiiPolicy
from monitorx.server.settings import Settings

HASH_KEY_FILE = "pii-hash-key"
"""Where the hash key made at first start is kept, in the data directory."""


def pii_policy(settings: Settings, project: str | None = None) -> PiiPolicy:
    """The policy the settings describe for ``project`` (the server's settings, with
    what ``pii_projects`` gives that project in their place); in mode ``hash``
    without a configured key, the key of ``<data_dir>/pii-hash-key``, made there at
    first start (one key for every project: the same value hashes alike in each)."""
    own = settings.pii_projects.get(project) if project is not None else None
    patterns = settings.pii_custom_patterns
    if own is not None and own.custom_patterns is not None:
        patterns = own.custom_patterns
    custom = tuple(CustomPattern(name, regex) for name, regex in patterns.items())
    detectors = frozenset(
        settings.pii_detectors if own is None or own.detectors is None else own.detectors
    )
    mode = settings.pii_mode if own is None or own.mode is None else own.mode
    exempt = settings.pii_exempt_keys if own is None or own.exempt_keys is None else own.exempt_keys
    key = b""
    if mode is MaskMode.HASH and (detectors or custom):
        configured = settings.pii_hash_key
        key = (
            configured.get_secret_value().encode()
            if configured is not None
            else _stored_key(settings.data_dir)
        )
    return PiiPolicy(
        detectors=detectors,
        custom=custom,
        mode=mode,
        key=key,
        exempt_keys=frozenset(exempt),
    )


def _stored_key(data_dir: Path) -> bytes:
    """The key kept in the data directory, made (mode 0600) when there is none."""
    path = data_dir / HASH_KEY_FILE
    try:
        return path.read_text().strip().encode()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key.encode()
