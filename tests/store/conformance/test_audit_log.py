"""The audit log on every backend: entries kept across a restart, listed newest
first with each filter, per project, and cut by retention."""

from __future__ import annotations

from datetime import timedelta

from monitorx.core.audit import AuditEntry, AuditOutcome
from monitorx.store import AuditQuery, Storage
from tests.store.conformance.samples import NOW
from tests.store.conformance.store_place import PROJECT, StorePlace


def _entries(project: str = PROJECT) -> list[AuditEntry]:
    actions = ["create_rule", "delete_model", "acknowledge_alert", "create_rule"]
    return [
        AuditEntry(
            NOW - timedelta(minutes=10 * (len(actions) - i)),
            f"api-key-{i % 2 + 1}",
            project,
            action,
            f"/api/v1/things/{i}",
            "127.0.0.1" if i % 2 else "::1",
            AuditOutcome.SUCCESS if i < 3 else AuditOutcome.DENIED,
        )
        for i, action in enumerate(actions)
    ]


async def test_entries_survive_a_restart_newest_first(storage: Storage, place: StorePlace) -> None:
    written = _entries()
    await storage.write_audit(written)
    storage = await place.reopen(storage)
    assert await storage.list_audit(AuditQuery()) == written[::-1]


async def test_each_filter_selects_and_limit_cuts(storage: Storage) -> None:
    written = _entries()
    await storage.write_audit(written)
    newest_first = written[::-1]
    assert await storage.list_audit(AuditQuery(action="create_rule")) == [
        newest_first[0],
        newest_first[3],
    ]
    assert await storage.list_audit(AuditQuery(actor="api-key-2")) == [
        e for e in newest_first if e.actor == "api-key-2"
    ]
    since = written[1].time
    assert await storage.list_audit(AuditQuery(start=since, end=written[3].time)) == [
        written[2],
        written[1],
    ]
    assert await storage.list_audit(AuditQuery(limit=1)) == newest_first[:1]


async def test_another_project_sees_none_and_retention_cuts_only_the_old(
    storage: Storage, place: StorePlace
) -> None:
    written = _entries()
    await storage.write_audit(written)
    await place.close(storage)
    other = await place.open("conformance-other")
    assert await other.list_audit(AuditQuery()) == []
    await place.close(other)
    storage = await place.open()
    await storage.delete_audit_before(written[2].time)
    assert await storage.list_audit(AuditQuery()) == [written[3], written[2]]
