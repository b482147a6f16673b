"""Users and refresh tokens in SQL (DuckDB and PostgreSQL alike), within one
project. The steps that must not race across replicas — spending a refresh token,
accepting a TOTP time step — are one conditional ``UPDATE … RETURNING`` each."""

from __future__ import annotations

__all__ = ["UserQueries"]

from datetime import datetime
from typing import Any

from monitorx.core.access import Role
from monitorx.core.users import RefreshTokenRecord, StoredUser, UserRecord
from monitorx.store.sql import rows
from monitorx.store.sql.session import SQLQueries

_USER = "id, project_id, username, role, created_at, disabled_at, totp_enabled"
_STORED = f"{_USER}, password_hash, totp_secret, totp_last_step"
_TOKEN = "id, family, user_id, project_id, created_at, expires_at, used_at, revoked_at"


def _time(value: Any) -> datetime | None:
    return None if value is None else rows.utc(value)


def _user(row: tuple[Any, ...]) -> UserRecord:
    user_id, project, username, role, created, disabled, totp = row
    return UserRecord(
        user_id, project, username, Role(role), rows.utc(created), _time(disabled), bool(totp)
    )


def _stored(row: tuple[Any, ...]) -> StoredUser:
    password_hash, secret, last_step = row[7:]
    return StoredUser(
        _user(row[:7]), str(password_hash), secret, None if last_step is None else int(last_step)
    )


def _token(row: tuple[Any, ...]) -> RefreshTokenRecord:
    token_id, family, user_id, project, created, expires, used, revoked = row
    return RefreshTokenRecord(
        token_id,
        family,
        user_id,
        project,
        rows.utc(created),
        rows.utc(expires),
        _time(used),
        _time(revoked),
    )


class UserQueries(SQLQueries):
    """`Storage`'s users (`UserStore`): the project's users and refresh tokens."""

    async def save_user(self, record: UserRecord, password_hash: str) -> None:
        await self._sql.write(
            f"INSERT INTO users ({_STORED}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                record.id,
                record.project,
                record.username,
                record.role.value,
                record.created_at,
                record.disabled_at,
                record.totp_enabled,
                password_hash,
                None,
                None,
            ],
        )

    async def find_user(self, username: str) -> StoredUser | None:
        found = await self._sql.read(
            f"SELECT {_STORED} FROM users WHERE project_id = %s AND username = %s",
            [self._project, username],
        )
        return _stored(found[0]) if found else None

    async def get_user(self, user_id: str) -> StoredUser | None:
        found = await self._sql.read(
            f"SELECT {_STORED} FROM users WHERE project_id = %s AND id = %s",
            [self._project, user_id],
        )
        return _stored(found[0]) if found else None

    async def list_users(self) -> list[UserRecord]:
        found = await self._sql.read(
            f"SELECT {_USER} FROM users WHERE project_id = %s ORDER BY created_at, id",
            [self._project],
        )
        return [_user(row) for row in found]

    async def delete_user(self, user_id: str, when: datetime) -> bool:
        deleted = await self._sql.write(
            "DELETE FROM users WHERE project_id = %s AND id = %s RETURNING id",
            [self._project, user_id],
        )
        await self._sql.write(
            "UPDATE refresh_tokens SET revoked_at = %s "
            "WHERE project_id = %s AND user_id = %s AND revoked_at IS NULL",
            [when, self._project, user_id],
        )
        return bool(deleted)

    async def disable_user(self, user_id: str, when: datetime) -> bool:
        changed = await self._sql.write(
            "UPDATE users SET disabled_at = %s WHERE project_id = %s AND id = %s "
            "AND disabled_at IS NULL RETURNING id",
            [when, self._project, user_id],
        )
        if changed:
            await self._sql.write(
                "UPDATE refresh_tokens SET revoked_at = %s "
                "WHERE project_id = %s AND user_id = %s AND revoked_at IS NULL",
                [when, self._project, user_id],
            )
        return bool(changed)

    async def set_user_totp(self, user_id: str, sealed_secret: str | None, enabled: bool) -> None:
        await self._sql.write(
            "UPDATE users SET totp_secret = %s, totp_enabled = %s, totp_last_step = NULL "
            "WHERE project_id = %s AND id = %s",
            [sealed_secret, enabled, self._project, user_id],
        )

    async def accept_totp_step(self, user_id: str, step: int) -> bool:
        accepted = await self._sql.write(
            "UPDATE users SET totp_last_step = %s WHERE project_id = %s AND id = %s "
            "AND (totp_last_step IS NULL OR totp_last_step < %s) RETURNING id",
            [step, self._project, user_id, step],
        )
        return bool(accepted)

    async def save_refresh_token(self, record: RefreshTokenRecord, token_hash: str) -> None:
        await self._sql.write(
            f"INSERT INTO refresh_tokens ({_TOKEN}, token_hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                record.id,
                record.family,
                record.user_id,
                record.project,
                record.created_at,
                record.expires_at,
                record.used_at,
                record.revoked_at,
                token_hash,
            ],
        )

    async def spend_refresh_token(
        self, token_hash: str, when: datetime
    ) -> tuple[RefreshTokenRecord, bool] | None:
        spent = await self._sql.write(
            f"UPDATE refresh_tokens SET used_at = %s WHERE project_id = %s AND token_hash = %s "
            f"AND used_at IS NULL AND revoked_at IS NULL RETURNING {_TOKEN}",
            [when, self._project, token_hash],
        )
        if spent:
            return _token(spent[0]), True
        found = await self._sql.read(
            f"SELECT {_TOKEN} FROM refresh_tokens WHERE project_id = %s AND token_hash = %s",
            [self._project, token_hash],
        )
        return (_token(found[0]), False) if found else None

    async def revoke_refresh_family(self, family: str, when: datetime) -> None:
        await self._sql.write(
            "UPDATE refresh_tokens SET revoked_at = %s "
            "WHERE project_id = %s AND family = %s AND revoked_at IS NULL",
            [when, self._project, family],
        )
