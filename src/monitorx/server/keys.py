"""The API keys a server accepts from its store (`monitorx keys`, `/api/v1/keys`),
beside those of its settings.

Every live key of every project is held in memory by its hash, so a request is
checked with one lookup, and names its project; each project's `KeyRing` (a view,
`for_project`) creates, lists and revokes that project's keys alone. A key
created or revoked through this server counts from the next request, and those
created or revoked elsewhere (the CLI on a PostgreSQL store, another replica)
once `load` runs again: every few seconds, and within a second on PostgreSQL,
which tells of every change (`server.config_sync`).
"""

from __future__ import annotations

__all__ = ["KEYS_RELOAD_S", "KeyRing"]

from monitorx.core import Clock, NotFound, ValidationError
from monitorx.core.access import Role
from monitorx.core.keys import ApiKeyRecord, hash_key, key_id_of, new_key
from monitorx.store import KeyStore

MAX_KEY_NAME = 128
KEYS_RELOAD_S = 5.0
"""How often the keys are read again from the store."""
# Reads `load` makes at most while changes made here keep overtaking it.
RELOAD_TRIES = 3


class _LiveKeys:
    """The live keys of every project by hash, shared by one process's key rings,
    and how many changes those rings made to them (for `KeyRing.load`)."""

    def __init__(self) -> None:
        self.by_hash: dict[str, ApiKeyRecord] = {}
        self.writes = 0


class KeyRing:
    def __init__(
        self,
        store: KeyStore,
        clock: Clock,
        project: str,
        live: _LiveKeys | None = None,
    ) -> None:
        """``store``: a store of ``project``; ``live``: the live keys that the key
        rings of one process share (`for_project`)."""
        self._store = store
        self._clock = clock
        self.project = project
        self._shared = _LiveKeys() if live is None else live
        self._live = self._shared.by_hash

    def for_project(self, project: str, store: KeyStore) -> KeyRing:
        """The key ring of ``project`` (``store`` is its store), sharing this one's
        live keys: a key created or revoked there counts here at once."""
        return KeyRing(store, self._clock, project, self._shared)

    async def load(self) -> None:
        """Read the live keys of every project from the store."""
        # A key created or revoked here while the store was read may be missing
        # from the read, or still in it.
        for _ in range(RELOAD_TRIES):
            writes = self._shared.writes
            stored = await self._store.all_keys()
            if writes == self._shared.writes:
                break
        found = {key_hash: record for record, key_hash in stored if record.revoked_at is None}
        self._live.clear()
        self._live.update(found)

    def projects(self) -> set[str]:
        """The projects that have a live key."""
        return {record.project for record in self._live.values()}

    def match(self, key: str) -> ApiKeyRecord | None:
        """The live key ``key`` is (of any project), or None."""
        if key_id_of(key) is None:
            return None
        return self._live.get(hash_key(key))

    async def create(self, role: Role, name: str = "") -> tuple[ApiKeyRecord, str]:
        """A new key of this project: its record, and the key, which is not kept."""
        if len(name) > MAX_KEY_NAME:
            raise ValidationError(f"at most {MAX_KEY_NAME} characters", "name")
        key, key_id = new_key()
        record = ApiKeyRecord(key_id, self.project, role, name, self._clock.now())
        await self._store.save_key(record, hash_key(key))
        self._live[hash_key(key)] = record
        self._shared.writes += 1
        return record, key

    async def list(self) -> list[ApiKeyRecord]:
        return await self._store.list_keys()

    async def revoke(self, key_id: str) -> None:
        """Revoke a key of this project (it stops working at once); `NotFound` when
        it has none of that id. Revoking a revoked key changes nothing."""
        revoked = await self._store.revoke_key(key_id, self._clock.now())
        if not revoked and not any(k.id == key_id for k in await self._store.list_keys()):
            raise NotFound(f"no key {key_id!r}")
        for key_hash in [
            h for h, r in self._live.items() if r.id == key_id and r.project == self.project
        ]:
            del self._live[key_hash]
        self._shared.writes += 1
