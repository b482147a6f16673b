"""The PostgreSQL store's configuration changes: each write of configuration is heard
with its project, once committed; the notifier's own state and a login's TOTP step
are not configuration and wake nobody; a listener says `everything` first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from monitorx.alerting.notify.documents import ESCALATION, JOB, NFLOG
from monitorx.core import ModelConfig, ModelType
from monitorx.core.access import Role
from monitorx.core.keys import ApiKeyRecord
from monitorx.core.users import UserRecord
from monitorx.store.config_changes import ConfigChange
from monitorx.store.postgres.config_listener import config_channel
from monitorx.store.postgres.schema import _CONFIG_NOTIFY, NOTIFIER_STATE_KINDS
from monitorx.store.postgres.storage import PostgresStorage
from tests.store.postgres.conftest import NOW


@pytest.fixture
async def heard(store: PostgresStorage) -> AsyncIterator[asyncio.Queue[ConfigChange]]:
    """What a listener on the test's schema hears, as it hears it."""
    changes: asyncio.Queue[ConfigChange] = asyncio.Queue()
    listener = store.config_changes()

    async def hear() -> None:
        async for change in listener.listen():
            await changes.put(change)

    task = asyncio.create_task(hear())
    try:
        yield changes
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def _next(changes: asyncio.Queue[ConfigChange]) -> ConfigChange:
    return await asyncio.wait_for(changes.get(), timeout=5)


async def test_configuration_writes_are_heard_with_their_project_and_state_writes_are_not(
    store: PostgresStorage, heard: asyncio.Queue[ConfigChange]
) -> None:
    assert await _next(heard) == ConfigChange(everything=True)
    other = store.for_project("other")
    await other.open()
    # The notifier's state, a login's TOTP step: nothing is heard of these.
    await other.apply_documents(puts=[(kind, "k", "{}") for kind in NOTIFIER_STATE_KINDS])
    user = UserRecord("usr_1", store.project_id, "ana", Role.ADMIN, NOW)
    await store.save_user(user, "hash")  # configuration of this store's project
    assert await _next(heard) == ConfigChange(frozenset({store.project_id}))
    await store.accept_totp_step("usr_1", 7)
    # Each kind of configuration, each heard with its project, in commit order.
    await other.save_model(ModelConfig(id="m", model_type=ModelType.TABULAR, name="m"))
    await other.put_document("silence", "s1", "{}")
    await store.save_key(ApiKeyRecord("k1", store.project_id, Role.INGEST, "", NOW), "h1")
    await store.revoke_key("k1", NOW)
    await other.delete_document("silence", "s1")
    await other.delete_model("m")
    own = store.project_id
    expected = ["other", "other", own, own, "other", "other"]
    assert [(await _next(heard)).projects for _ in expected] == [{p} for p in expected]
    assert heard.empty()
    await other.close()


async def test_a_transaction_of_many_writes_is_heard_once_per_project(
    store: PostgresStorage, heard: asyncio.Queue[ConfigChange]
) -> None:
    assert await _next(heard) == ConfigChange(everything=True)
    await store.apply_documents(puts=[("rule", f"r{i}", "{}") for i in range(50)])
    assert await _next(heard) == ConfigChange(frozenset({store.project_id}))
    await asyncio.sleep(0.2)
    assert heard.empty()  # PostgreSQL folds a transaction's equal notifications


def test_the_kinds_that_wake_nobody_are_the_notifiers_state() -> None:
    assert set(NOTIFIER_STATE_KINDS) == {JOB, NFLOG, ESCALATION}
    for kind in NOTIFIER_STATE_KINDS:
        assert _CONFIG_NOTIFY.count(f"'{kind}'") == 2  # written and deleted


def test_each_schema_has_its_own_channel_within_postgres_name_limit() -> None:
    long_schema = "s" * 63
    assert config_channel("a") != config_channel("b")
    assert len(config_channel(long_schema).encode()) <= 63
