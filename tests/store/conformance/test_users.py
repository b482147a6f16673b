"""Users and refresh tokens on every backend: kept within their project, found by
username, deleted with their tokens revoked; a refresh token spent once and a TOTP
step accepted once, even when asked twice."""

from __future__ import annotations

from datetime import timedelta

from monitorx.core.access import Role
from monitorx.core.users import RefreshTokenRecord, UserRecord, hash_refresh_token
from monitorx.store import Storage
from tests.store.conformance.samples import NOW
from tests.store.conformance.store_place import PROJECT, StorePlace


def _user(user_id: str, username: str, project: str = PROJECT) -> UserRecord:
    return UserRecord(user_id, project, username, Role.EDITOR, NOW - timedelta(minutes=5))


def _token(token_id: str, family: str, user_id: str) -> RefreshTokenRecord:
    return RefreshTokenRecord(token_id, family, user_id, PROJECT, NOW, NOW + timedelta(days=1))


async def test_users_are_kept_within_their_project_and_deleted_with_their_tokens(
    storage: Storage, place: StorePlace
) -> None:
    alice = _user("u-alice", "alice")
    await storage.save_user(alice, "$argon2id$hash-of-alice")
    await storage.save_refresh_token(_token("t1", "f1", alice.id), hash_refresh_token("one"))
    await place.close(storage)
    other = await place.open("conformance-other")
    await other.save_user(_user("u-alice-2", "alice", "conformance-other"), "$argon2id$x")
    assert await other.get_user(alice.id) is None, "another project's user"
    assert await other.spend_refresh_token(hash_refresh_token("one"), NOW) is None
    await place.close(other)

    storage = await place.open()
    found = await storage.find_user("alice")
    assert found is not None
    assert found.record == alice
    assert found.password_hash == "$argon2id$hash-of-alice"
    assert await storage.list_users() == [alice]
    assert await storage.delete_user(alice.id, NOW) is True
    assert await storage.delete_user(alice.id, NOW) is False
    assert await storage.find_user("alice") is None
    spent = await storage.spend_refresh_token(hash_refresh_token("one"), NOW)
    assert spent is not None
    record, by_this_call = spent
    assert by_this_call is False
    assert record.revoked_at == NOW


async def test_a_refresh_token_is_spent_once_and_a_family_revoked_together(
    storage: Storage,
) -> None:
    bob = _user("u-bob", "bob")
    await storage.save_user(bob, "$argon2id$b")
    await storage.save_refresh_token(_token("t1", "fam", bob.id), hash_refresh_token("first"))
    await storage.save_refresh_token(_token("t2", "fam", bob.id), hash_refresh_token("second"))
    first = await storage.spend_refresh_token(hash_refresh_token("first"), NOW)
    assert first is not None and first[1] is True and first[0].used_at == NOW
    again = await storage.spend_refresh_token(hash_refresh_token("first"), NOW)
    assert again is not None and again[1] is False
    await storage.revoke_refresh_family("fam", NOW)
    second = await storage.spend_refresh_token(hash_refresh_token("second"), NOW)
    assert second is not None and second[1] is False and second[0].revoked_at == NOW
    assert await storage.spend_refresh_token(hash_refresh_token("unknown"), NOW) is None


async def test_totp_secret_and_steps_are_kept_and_a_step_accepted_once(storage: Storage) -> None:
    carol = _user("u-carol", "carol")
    await storage.save_user(carol, "$argon2id$c")
    await storage.set_user_totp(carol.id, "fernet:abcd:sealed", True)
    found = await storage.get_user(carol.id)
    assert found is not None
    assert found.totp_secret == "fernet:abcd:sealed"
    assert found.record.totp_enabled is True
    assert await storage.accept_totp_step(carol.id, 100) is True
    assert await storage.accept_totp_step(carol.id, 100) is False, "a replayed code"
    assert await storage.accept_totp_step(carol.id, 99) is False
    assert await storage.accept_totp_step(carol.id, 101) is True
    assert await storage.disable_user(carol.id, NOW) is True
    disabled = await storage.get_user(carol.id)
    assert disabled is not None and disabled.record.disabled_at == NOW
