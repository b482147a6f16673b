"""Users of a project and their refresh tokens: who may log in with a password,
and what the store keeps of each (never a password, never a token).

A user has a username unique in its project, a role (`core.access`), a password
kept as an argon2id hash, and optionally a TOTP second factor whose secret is
kept sealed (`store.secret_keys`). Logging in gives a short-lived access token (a
JWT) and an opaque refresh token ``mxr_<id>_<secret>``; the store keeps the
SHA-256 of a refresh token, its family (every token one login led to, through
rotation), and when it was used or revoked.
"""

from __future__ import annotations

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "REFRESH_PREFIX",
    "USERNAME_PATTERN",
    "RefreshTokenRecord",
    "StoredUser",
    "UserRecord",
    "check_password_text",
    "check_username",
    "hash_refresh_token",
    "new_refresh_token",
    "refresh_token_id_of",
]

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from monitorx.core.access import Role
from monitorx.core.errors import ValidationError

REFRESH_PREFIX = "mxr_"
_REFRESH = re.compile(r"^mxr_(?P<id>[0-9a-f]{16})_[A-Za-z0-9_-]{43}$")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")
"""What a username may be: 1-128 of ``A-Z a-z 0-9 . _ @ + -``."""
MIN_PASSWORD = 8
"""Shorter passwords are refused (NIST SP 800-63B's floor for chosen secrets)."""
MAX_PASSWORD = 1024
"""Longer ones are refused: argon2 hashes any length, but a megabyte a try is abuse."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as it may be shown: never its password hash or TOTP secret."""

    id: str
    project: str
    username: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None
    totp_enabled: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "project": self.project,
            "username": self.username,
            "role": self.role.value,
            "created_at": self.created_at.isoformat(),
            "disabled_at": None if self.disabled_at is None else self.disabled_at.isoformat(),
            "totp_enabled": self.totp_enabled,
        }


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A user with what only the login checks read: the password hash, the sealed
    TOTP secret (enrolled or pending) and the last TOTP time step accepted."""

    record: UserRecord
    password_hash: str
    totp_secret: str | None = None
    totp_last_step: int | None = None


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    """What the store knows of a refresh token (never the token)."""

    id: str
    family: str
    user_id: str
    project: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


def check_username(text: str) -> str:
    """``text`` when it is a valid username (1-128 of ``A-Z a-z 0-9 . _ @ + -``)."""
    if not USERNAME_PATTERN.fullmatch(text):
        raise ValidationError("1-128 characters of A-Z a-z 0-9 and . _ @ + -", "username")
    return text


def check_password_text(text: str) -> str:
    """``text`` when it is long enough and not too long to be a new password."""
    if len(text) < MIN_PASSWORD:
        raise ValidationError(f"at least {MIN_PASSWORD} characters", "password")
    if len(text) > MAX_PASSWORD:
        raise ValidationError(f"at most {MAX_PASSWORD} characters", "password")
    return text


def new_refresh_token() -> tuple[str, str]:
    """A fresh refresh token and its id."""
    token_id = secrets.token_hex(8)
    return f"{REFRESH_PREFIX}{token_id}_{secrets.token_urlsafe(32)}", token_id


def hash_refresh_token(token: str) -> str:
    """What the store keeps of a refresh token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def refresh_token_id_of(token: str) -> str | None:
    """The id of a text shaped like a refresh token, else None."""
    match = _REFRESH.match(token)
    return match["id"] if match else None
