"""API keys kept in the store: each shown once, kept as a hash, recognised by a
visible id, revocable.

A key reads ``mxk_<id>_<secret>``: ``mxk_`` says what it is (to people and to secret
scanners), the 8-character ``id`` names it in lists, logs and the audit log, and
the secret is 32 random bytes (URL-safe base64). The store keeps the SHA-256 of
the whole key, never the key: with that much randomness a fast hash is enough, and
a request is checked with one dictionary lookup.
"""

from __future__ import annotations

__all__ = ["KEY_PREFIX", "ApiKeyRecord", "hash_key", "key_id_of", "new_key"]

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from monitorx.core.access import Role

KEY_PREFIX = "mxk_"
_KEY = re.compile(r"^mxk_(?P<id>[0-9a-f]{8})_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What the store knows of a key (never the key itself)."""

    id: str
    project: str
    role: Role
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def hint(self) -> str:
        """How the key starts, to recognise it: ``mxk_<id>_…``."""
        return f"{KEY_PREFIX}{self.id}_…"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "project": self.project,
            "role": self.role.value,
            "name": self.name,
            "hint": self.hint,
            "created_at": self.created_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
        }


def new_key() -> tuple[str, str]:
    """A fresh key and its id."""
    key_id = secrets.token_hex(4)
    return f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}", key_id


def hash_key(key: str) -> str:
    """What the store keeps of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The id of a text shaped like a stored key, else None."""
    match = _KEY.match(key)
    return match["id"] if match else None
