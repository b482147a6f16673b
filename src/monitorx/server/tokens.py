"""Tokens for users who log in with a password (`POST /api/v1/auth/token`):
short-lived access tokens and rotating refresh tokens.

An access token is a JWT signed with HS256 through PyJWT: header ``typ: at+jwt``
(RFC 9068), claims ``iss`` (``monitorx``), ``sub`` (the user's id), ``username``,
``project``, ``role``, ``iat``, ``exp`` and ``jti``. It is checked against that
allowlist alone (RFC 8725): another algorithm (``none`` included), a bad signature,
a missing claim, another project or an expiry in the past is refused, and so is
the token of a user deleted or disabled since.

A refresh token is opaque (``mxr_<id>_<secret>``, `core.users`) and kept as its
SHA-256. Using it spends it and gives a new pair in the same family; using a spent
one again means two parties hold it, so the whole family is revoked (RFC 9700
§4.14.2). Deleting or disabling the user revokes its tokens.

The signing key is ``MONITORX_JWT_SECRET`` when set; else, on a store of one
server, ``<data_dir>/token-key`` (made at first start, mode 0600); on PostgreSQL,
where replicas must agree, a key derived (HKDF-SHA256) from the first of
``MONITORX_SECRET_KEYS``.
"""

from __future__ import annotations

__all__ = [
    "TOKEN_KEY_FILE",
    "AccessClaims",
    "ProjectTokens",
    "TokenPair",
    "TokenService",
    "load_signing_key",
]

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from monitorx.core import Clock, StorageError, Unauthorized
from monitorx.core.users import (
    RefreshTokenRecord,
    UserRecord,
    hash_refresh_token,
    new_refresh_token,
    refresh_token_id_of,
)
from monitorx.server.auth import Principal
from monitorx.server.settings import Settings
from monitorx.server.users import UserDirectory
from monitorx.store import UserStore

TOKEN_KEY_FILE = "token-key"
"""Where the signing key made at first start is kept, in the data directory."""
ACCESS_TOKEN_TYPE = "at+jwt"
ISSUER = "monitorx"
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["iss", "sub", "project", "role", "iat", "exp", "jti"]
_INVALID = "invalid or expired token"


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or a refresh answers (API.md)."""

    access_token: str
    refresh_token: str
    expires_in: int

    def to_json(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says."""

    user_id: str
    username: str
    project: str
    role: str
    token_id: str


class TokenService:
    """Issues, refreshes, revokes and verifies one project's user tokens."""

    def __init__(
        self,
        store: UserStore,
        users: UserDirectory,
        clock: Clock,
        project: str,
        signing_key: bytes,
        access_ttl_s: int,
        refresh_ttl_s: int,
    ) -> None:
        self._store = store
        self._users = users
        self._clock = clock
        self.project = project
        self._key = signing_key
        self.access_ttl_s = access_ttl_s
        self._refresh_ttl = timedelta(seconds=refresh_ttl_s)

    async def login(self, username: str, password: str, totp: str | None) -> TokenPair:
        """A new pair for the user these credentials name; `Unauthorized` otherwise."""
        user = await self._users.check_login(username, password, totp)
        return await self.issue_for(user)

    async def issue_for(self, user: UserRecord, family: str | None = None) -> TokenPair:
        """A new pair for ``user``, whoever proved who they are (a password here; an
        identity provider for single sign-on). ``family``: the refresh family to
        continue, else a new one (a new login)."""
        if user.project != self.project:
            raise Unauthorized(_INVALID)
        now = self._clock.now()
        access = jwt.encode(
            {
                "iss": ISSUER,
                "sub": user.id,
                "username": user.username,
                "project": user.project,
                "role": user.role.value,
                "iat": now,
                "exp": now + timedelta(seconds=self.access_ttl_s),
                "jti": secrets.token_hex(16),
            },
            self._key,
            algorithm=_ALGORITHM,
            headers={"typ": ACCESS_TOKEN_TYPE},
        )
        refresh, token_id = new_refresh_token()
        record = RefreshTokenRecord(
            token_id,
            family or secrets.token_hex(8),
            user.id,
            user.project,
            now,
            now + self._refresh_ttl,
        )
        await self._store.save_refresh_token(record, hash_refresh_token(refresh))
        return TokenPair(access, refresh, self.access_ttl_s)

    async def refresh(self, refresh_token: str) -> tuple[TokenPair, UserRecord]:
        """Spend ``refresh_token`` for a new pair of its family, and name its user.
        A token used before revokes its whole family; any refusal is `Unauthorized`."""
        if refresh_token_id_of(refresh_token) is None:
            raise Unauthorized(_INVALID)
        now = self._clock.now()
        found = await self._store.spend_refresh_token(hash_refresh_token(refresh_token), now)
        if found is None:
            raise Unauthorized(_INVALID)
        record, spent_now = found
        if not spent_now:
            if record.revoked_at is None:
                # Used before: a copy is in other hands. Nobody keeps the family.
                await self._store.revoke_refresh_family(record.family, now)
            raise Unauthorized(_INVALID)
        user = self._users.live(record.user_id)
        if record.expires_at <= now or user is None:
            raise Unauthorized(_INVALID)
        return await self.issue_for(user, record.family), user

    async def revoke(self, refresh_token: str) -> None:
        """Revoke the family of ``refresh_token`` (logging out); nothing for a token
        this project does not know."""
        if refresh_token_id_of(refresh_token) is None:
            return
        now = self._clock.now()
        found = await self._store.spend_refresh_token(hash_refresh_token(refresh_token), now)
        if found is not None:
            await self._store.revoke_refresh_family(found[0].family, now)

    def verify(self, token: str) -> AccessClaims | None:
        """The claims of an access token of this server; None when ``token`` is no
        access token at all (another kind of bearer credential); `Unauthorized`
        when it claims to be one but is not valid."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            return None
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                # Expiry is checked below against the server's clock (`core.clock`).
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise Unauthorized(_INVALID) from None
        expires = claims["exp"]
        if not isinstance(expires, int | float) or expires <= self._clock.now().timestamp():
            raise Unauthorized(_INVALID)
        if claims["project"] != self.project:
            raise Unauthorized(_INVALID)
        user = self._users.live(str(claims["sub"]))
        if user is None:
            raise Unauthorized(_INVALID)
        return AccessClaims(
            user.id, user.username, user.project, user.role.value, str(claims["jti"])
        )

    def principal_of(self, token: str) -> Principal | None:
        """The caller an access token names (`Authenticator`'s bearer tokens)."""
        claims = self.verify(token)
        if claims is None:
            return None
        user = self._users.live(claims.user_id)
        if user is None:
            raise Unauthorized(_INVALID)
        return Principal(f"user:{user.username}", user.role, project=user.project, user_id=user.id)


class ProjectTokens:
    """The access tokens of every project, for the one `Authenticator` of a process:
    a token names its project; that project's `TokenService` verifies it (its users
    are live there). A token of a project this process has not started is refused:
    every project with users is started with the server."""

    def __init__(self) -> None:
        self._of_project: Callable[[str], TokenService | None] = lambda project: None

    def attach(self, of_project: Callable[[str], TokenService | None]) -> None:
        """Where each started project's token service is found (the projects)."""
        self._of_project = of_project

    def principal_of(self, token: str) -> Principal | None:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            return None  # another kind of bearer credential
        service = self._of_project(str(claims.get("project", "")))
        if service is None:
            raise Unauthorized(_INVALID)
        return service.principal_of(token)


# The signing key ----------------------------------------------------------------------

_HKDF_INFO = b"monitorx access tokens v1"
_KEY_BYTES = 32


def load_signing_key(settings: Settings) -> bytes:
    """The HS256 key of access tokens (module docstring)."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value().encode()
    url = settings.resolved_storage_url()
    scheme = url.partition("://")[0]
    if scheme in ("postgresql", "postgres") and settings.secret_keys:
        first = settings.secret_keys[0].get_secret_value().encode()
        return HKDF(hashes.SHA256(), _KEY_BYTES, None, _HKDF_INFO).derive(first)
    if scheme == "duckdb" and url.endswith(":memory:"):
        return secrets.token_bytes(_KEY_BYTES)
    return _stored_key(settings.data_dir)


def _stored_key(data_dir: Path) -> bytes:
    """The key kept in the data directory, made (mode 0600) when there is none."""
    path = data_dir / TOKEN_KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key(path)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return key


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) < _KEY_BYTES:
        raise StorageError(f"{path} holds no token signing key: delete it to make a new one")
    return key
