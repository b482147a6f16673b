"""The users of a project (`monitorx users`, `/api/v1/users`): created with a
password kept as an argon2id hash, checked at login, optionally with a TOTP second
factor whose secret is sealed with the server's secret keys.

Every live user of the project is held in memory, so that an access token of a
deleted or disabled user stops working at once on this server, and within
`USERS_RELOAD_S` on the others (`load` runs on the scheduler).
"""

from __future__ import annotations

__all__ = ["NO_PASSWORD", "PASSWORD_HASHER", "TOTP_ISSUER", "USERS_RELOAD_S", "UserDirectory"]

import asyncio
import functools
import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from monitorx.core import Clock, Conflict, MonitorXError, NotFound, Unauthorized
from monitorx.core.access import Role
from monitorx.core.users import StoredUser, UserRecord, check_password_text, check_username
from monitorx.store import UserStore
from monitorx.store.secret_keys import SecretKeyRing

USERS_RELOAD_S = 5.0
"""How often the live users are read again from the store."""
# Reads `load` makes at most while changes made here keep overtaking it.
RELOAD_TRIES = 3

# Argon2id at OWASP's floor (m = 19 MiB, t = 2, p = 1; Password Storage Cheat
# Sheet): about 25 ms a login on one core, where the library's default profile
# (64 MiB, t = 3, p = 4) costs about 170 ms and four threads.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
TOTP_ISSUER = "MonitorX"
TOTP_DRIFT_STEPS = 1
"""TOTP codes of one 30-second step before or after now are accepted (RFC 6238 §5.2)."""
NO_PASSWORD = "!"
"""The stored hash of a user without a password: no argon2 hash, so nothing matches."""


@functools.cache
def _no_user_hash() -> str:
    """A hash no password matches, verified when a username is unknown so that the
    answer takes as long as for a known one (made on first use, not at import)."""
    return PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


def _verify_password(password_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class UserDirectory:
    """One project's users, their passwords and second factors."""

    def __init__(
        self,
        store: UserStore,
        clock: Clock,
        project: str,
        secret_keys: SecretKeyRing | None = None,
    ) -> None:
        """``secret_keys`` seal TOTP secrets; without them (the command line) TOTP
        cannot be enrolled or checked."""
        self._store = store
        self._clock = clock
        self.project = project
        self._secret_keys = secret_keys
        self._live: dict[str, UserRecord] = {}
        self._writes = 0  # changes of `_live` made here, for `load`

    async def load(self) -> None:
        """Read the project's live (not disabled) users from the store: at start-up,
        and again when another process (a replica, the CLI) changed them."""
        # A change made here while the store was read may be missing from the read.
        for _ in range(RELOAD_TRIES):
            writes = self._writes
            users = await self._store.list_users()
            if writes == self._writes:
                break
        self._live = {u.id: u for u in users if u.disabled_at is None}

    def live(self, user_id: str) -> UserRecord | None:
        """The user of that id when it exists and is not disabled."""
        return self._live.get(user_id)

    async def create(self, username: str, role: Role, password: str) -> UserRecord:
        """A new user of this project; `Conflict` when the username is taken."""
        check_username(username)
        check_password_text(password)
        if await self._store.find_user(username) is not None:
            raise Conflict(f"there is already a user {username!r}")
        password_hash = await asyncio.to_thread(PASSWORD_HASHER.hash, password)
        record = UserRecord(
            f"usr_{secrets.token_hex(6)}", self.project, username, role, self._clock.now()
        )
        await self._store.save_user(record, password_hash)
        self._live[record.id] = record
        self._writes += 1
        return record

    async def provision(self, username: str, role: Role) -> UserRecord:
        """The user of that username, made without a password when there is none:
        for people an identity provider vouches for (single sign-on), who then get
        tokens from `TokenService.issue_for`. Such a user cannot log in with a
        password; a disabled one is refused (`Unauthorized`)."""
        check_username(username)
        stored = await self._store.find_user(username)
        if stored is not None:
            if stored.record.disabled_at is not None:
                raise Unauthorized("this user is disabled")
            if stored.password_hash != NO_PASSWORD:
                # A provider must not vouch its way into a local account.
                raise Unauthorized(f"{username!r} is a user with a password, not a provider's")
            return stored.record
        record = UserRecord(
            f"usr_{secrets.token_hex(6)}", self.project, username, role, self._clock.now()
        )
        await self._store.save_user(record, NO_PASSWORD)
        self._live[record.id] = record
        self._writes += 1
        return record

    async def list(self) -> list[UserRecord]:
        return await self._store.list_users()

    async def find(self, id_or_username: str) -> UserRecord:
        """The user of that id, else of that username; `NotFound` when neither."""
        stored = await self._store.get_user(id_or_username) or await self._store.find_user(
            id_or_username
        )
        if stored is None:
            raise NotFound(f"no user {id_or_username!r}")
        return stored.record

    async def delete(self, user_id: str) -> None:
        """Delete a user; its refresh tokens are revoked and its access tokens stop
        working. `NotFound` when there is none of that id."""
        if not await self._store.delete_user(user_id, self._clock.now()):
            raise NotFound(f"no user {user_id!r}")
        self._live.pop(user_id, None)
        self._writes += 1

    async def disable(self, user_id: str) -> None:
        """Disable a user (it can no longer log in; its tokens are revoked)."""
        disabled = await self._store.disable_user(user_id, self._clock.now())
        if not disabled and await self._store.get_user(user_id) is None:
            raise NotFound(f"no user {user_id!r}")
        self._live.pop(user_id, None)
        self._writes += 1

    async def check_login(self, username: str, password: str, totp: str | None) -> UserRecord:
        """The user these credentials name; `Unauthorized` that never says which of
        them was wrong (only, after a right password, that a TOTP code is needed)."""
        stored = await self._store.find_user(username)
        if stored is None:
            await asyncio.to_thread(_verify_password, _no_user_hash(), password)
            raise Unauthorized("invalid username or password")
        # A user without a password costs the same work as any other.
        has_password = stored.password_hash != NO_PASSWORD
        checked_hash = stored.password_hash if has_password else _no_user_hash()
        matches = await asyncio.to_thread(_verify_password, checked_hash, password)
        if not (matches and has_password):
            raise Unauthorized("invalid username or password")
        if stored.record.disabled_at is not None:
            raise Unauthorized("invalid username or password")
        if stored.record.totp_enabled:
            if not totp:
                raise Unauthorized("a TOTP code is required (totp)")
            if not await self._accept_code(stored, totp):
                raise Unauthorized("invalid username, password or TOTP code")
        return stored.record

    # TOTP -------------------------------------------------------------------------

    async def begin_totp(self, user_id: str) -> tuple[str, str]:
        """A new TOTP secret for the user, pending until `confirm_totp`: the secret
        (base32) and its ``otpauth://`` URI. `Conflict` when TOTP is already on."""
        stored = await self._stored(user_id)
        if stored.record.totp_enabled:
            raise Conflict("TOTP is already on for this user")
        secret = pyotp.random_base32()
        await self._store.set_user_totp(user_id, self._ring().seal(secret), False)
        uri = pyotp.TOTP(secret).provisioning_uri(
            name=stored.record.username, issuer_name=TOTP_ISSUER
        )
        return secret, uri

    async def confirm_totp(self, user_id: str, code: str) -> None:
        """Turn TOTP on once ``code`` matches the pending secret; `Unauthorized`
        when it does not (or none is pending)."""
        stored = await self._stored(user_id)
        if stored.record.totp_enabled or stored.totp_secret is None:
            raise Conflict("no TOTP enrolment is pending: POST /api/v1/auth/totp first")
        secret = self._ring().unseal(stored.totp_secret)
        step = _matching_step(secret, code, self._clock.now())
        if step is None:
            raise Unauthorized("invalid TOTP code")
        await self._store.set_user_totp(user_id, stored.totp_secret, True)
        # The confirming code cannot log in afterwards.
        await self._store.accept_totp_step(user_id, step)
        self._live[user_id] = (await self._stored(user_id)).record
        self._writes += 1

    async def _accept_code(self, stored: StoredUser, code: str) -> bool:
        if stored.totp_secret is None:
            return False
        secret = self._ring().unseal(stored.totp_secret)
        step = _matching_step(secret, code, self._clock.now())
        # A code already accepted (its step or an earlier one) is refused: replay.
        return step is not None and await self._store.accept_totp_step(stored.record.id, step)

    def _ring(self) -> SecretKeyRing:
        if self._secret_keys is None:
            raise MonitorXError("TOTP needs the server's secret keys")
        return self._secret_keys

    async def _stored(self, user_id: str) -> StoredUser:
        stored = await self._store.get_user(user_id)
        if stored is None:
            raise NotFound(f"no user {user_id!r}")
        return stored


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within `TOTP_DRIFT_STEPS` of now."""
    totp = pyotp.TOTP(secret)
    step_now = totp.timecode(now)
    found = None
    for step in range(step_now - TOTP_DRIFT_STEPS, step_now + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code.strip()):
            found = step
    return found
