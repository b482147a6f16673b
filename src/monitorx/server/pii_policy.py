"""This server's masking policy, built from its settings (docs/security.md).

The policy is built once, here, and handed to every way in (`assemble`). Until
projects have settings of their own, it is the one policy of the server's project;
a per-project policy will replace this function's result, not its callers.
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


def pii_policy(settings: Settings) -> PiiPolicy:
    """The policy the settings describe; in mode ``hash`` without a configured key,
    the key of ``<data_dir>/pii-hash-key``, made there at first start."""
    custom = tuple(
        CustomPattern(name, regex) for name, regex in settings.pii_custom_patterns.items()
    )
    detectors = frozenset(settings.pii_detectors)
    key = b""
    if settings.pii_mode is MaskMode.HASH and (detectors or custom):
        configured = settings.pii_hash_key
        key = (
            configured.get_secret_value().encode()
            if configured is not None
            else _stored_key(settings.data_dir)
        )
    return PiiPolicy(
        detectors=detectors,
        custom=custom,
        mode=settings.pii_mode,
        key=key,
        exempt_keys=frozenset(settings.pii_exempt_keys),
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
