"""API keys on every backend: kept as a hash with their project and role, found
across projects, listed and revoked within their own, and kept across a restart."""

from __future__ import annotations

from datetime import timedelta

from monitorx.core.access import Role
from monitorx.core.keys import ApiKeyRecord, hash_key, new_key
from monitorx.store import Storage
from tests.store.conformance.samples import NOW
from tests.store.conformance.store_place import PROJECT, StorePlace


def _record(project: str, role: Role, name: str, minutes: int) -> tuple[ApiKeyRecord, str]:
    key, key_id = new_key()
    return ApiKeyRecord(key_id, project, role, name, NOW - timedelta(minutes=minutes)), key


async def test_keys_are_kept_as_hashes_and_revoked_within_their_project(
    storage: Storage, place: StorePlace
) -> None:
    ci, ci_key = _record(PROJECT, Role.INGEST, "ci", 10)
    grafana, grafana_key = _record(PROJECT, Role.VIEWER, "grafana", 5)
    await storage.save_key(ci, hash_key(ci_key))
    await storage.save_key(grafana, hash_key(grafana_key))
    await place.close(storage)
    other = await place.open("conformance-other")
    theirs, their_key = _record("conformance-other", Role.ADMIN, "ops", 1)
    await other.save_key(theirs, hash_key(their_key))
    assert await other.list_keys() == [theirs]
    assert await other.revoke_key(ci.id, NOW) is False, "another project's key"
    await place.close(other)

    storage = await place.open()
    assert await storage.list_keys() == [ci, grafana]
    every = dict((h, r) for r, h in await storage.all_keys())
    assert every == {
        hash_key(ci_key): ci,
        hash_key(grafana_key): grafana,
        hash_key(their_key): theirs,
    }
    assert all(ci_key not in h for h in every)
    assert await storage.revoke_key(ci.id, NOW) is True
    assert await storage.revoke_key(ci.id, NOW) is False, "already revoked"
    storage = await place.reopen(storage)
    listed = await storage.list_keys()
    assert [(k.id, k.revoked_at) for k in listed] == [(ci.id, NOW), (grafana.id, None)]
