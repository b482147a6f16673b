"""Documents, the alerting engine's configuration and state: `put_document` (create
and replace), `get_document`, `list_documents` in creation order, `delete_document`,
each kind and each project apart, and all of it kept across a restart."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from monitorx.core import FakeClock
from monitorx.store import DeliveryLogEntry, Storage
from tests.store.conformance.store_place import StorePlace

Reopen = Callable[[Storage], Awaitable[Storage]]
OTHER_PROJECT = "conformance-other"
# Keys a user may give a channel, route or rule: quotes and the characters SQL and
# query languages escape, non-ASCII, an empty key, one long key.
AWKWARD_KEYS = (
    'it\'s "quoted"',
    "back\\slash; DROP TABLE documents; --",
    "東京 🚀 Zürich",
    "%s ? $1 :name",
    "",
    "k" * 500,
)


def body(**fields: object) -> str:
    """A JSON document body, non-ASCII kept as it is."""
    return json.dumps(fields, ensure_ascii=False)


async def test_put_creates_then_replaces(storage: Storage, clock: FakeClock) -> None:
    assert await storage.put_document("channel", "ops-hook", body(url="http://a")) is True
    clock.advance(60)

    assert await storage.put_document("channel", "ops-hook", body(url="http://b")) is False

    assert await storage.get_document("channel", "ops-hook") == body(url="http://b")
    assert await storage.list_documents("channel") == [("ops-hook", body(url="http://b"))]


async def test_a_missing_document_is_none(storage: Storage) -> None:
    assert await storage.get_document("channel", "never-put") is None
    await storage.put_document("channel", "ops-hook", "{}")
    assert await storage.get_document("route", "ops-hook") is None  # another kind
    assert await storage.get_document("channel", "ops-hoo") is None  # a prefix
    assert await storage.list_documents("rule") == []


async def test_list_is_oldest_created_first_and_keeps_the_place_on_replace(
    storage: Storage, clock: FakeClock
) -> None:
    for key in ("route-c", "route-a", "route-b"):
        await storage.put_document("route", key, body(v=1))
        clock.advance(1)
    # Created at one instant: listed by key.
    await storage.put_document("route", "same-z", body(v=1))
    await storage.put_document("route", "same-y", body(v=1))
    clock.advance(1)

    await storage.put_document("route", "route-c", body(v=2))  # the first, replaced last

    assert await storage.list_documents("route") == [
        ("route-c", body(v=2)),
        ("route-a", body(v=1)),
        ("route-b", body(v=1)),
        ("same-y", body(v=1)),
        ("same-z", body(v=1)),
    ]


async def test_each_kind_lists_its_own_documents(storage: Storage, clock: FakeClock) -> None:
    kinds = ("channel", "route", "silence", "channels", "rout")
    for i, kind in enumerate(kinds):
        await storage.put_document(kind, "shared-key", body(kind=kind))
        clock.advance(1)
        await storage.put_document(kind, f"own-{i}", body(kind=kind, i=i))
        clock.advance(1)

    for i, kind in enumerate(kinds):
        assert await storage.list_documents(kind) == [
            ("shared-key", body(kind=kind)),
            (f"own-{i}", body(kind=kind, i=i)),
        ]
        assert await storage.get_document(kind, "shared-key") == body(kind=kind)


async def test_delete_says_whether_the_document_existed(storage: Storage) -> None:
    await storage.put_document("rule", "p95-latency", body(threshold=250))
    await storage.put_document("rule", "error-rate", body(threshold=0.05))
    await storage.put_document("slo", "p95-latency", body(target=0.99))

    assert await storage.delete_document("rule", "p95-latency") is True
    assert await storage.delete_document("rule", "p95-latency") is False
    assert await storage.delete_document("rule", "never-put") is False

    assert await storage.get_document("rule", "p95-latency") is None
    assert await storage.list_documents("rule") == [("error-rate", body(threshold=0.05))]
    assert await storage.get_document("slo", "p95-latency") == body(target=0.99)
    # Deleted, it can be created again.
    assert await storage.put_document("rule", "p95-latency", body(threshold=300)) is True


async def test_awkward_keys_and_bodies_read_back_exactly(
    storage: Storage, clock: FakeClock
) -> None:
    bodies = {
        key: body(key=key, text='a "quote", a \\ and \u00e9\u00e8 — 🚨\n', n=i)
        for i, key in enumerate(AWKWARD_KEYS)
    }
    large = body(items=[{"name": f"élément {i}", "value": i / 7} for i in range(5_000)])
    for key, text in bodies.items():
        await storage.put_document("channel", key, text)
        clock.advance(1)
    await storage.put_document("channel", "large", large)

    for key, text in bodies.items():
        assert await storage.get_document("channel", key) == text, key
    assert await storage.get_document("channel", "large") == large
    assert await storage.list_documents("channel") == [*bodies.items(), ("large", large)]
    for key in AWKWARD_KEYS:
        assert await storage.delete_document("channel", key) is True, key
    assert await storage.list_documents("channel") == [("large", large)]


async def test_documents_survive_restarts(
    storage: Storage, reopen: Reopen, clock: FakeClock
) -> None:
    await storage.put_document("channel", "ops-hook", body(v=1))
    clock.advance(1)
    await storage.put_document("channel", "pager", body(v=1))
    await storage.put_document("silence", "s-1", body(until="2026-04-02T00:00:00Z"))
    await storage.put_document("silence", "s-2", "{}")
    await storage.delete_document("silence", "s-2")

    storage = await reopen(storage)
    assert await storage.list_documents("channel") == [
        ("ops-hook", body(v=1)),
        ("pager", body(v=1)),
    ]
    assert await storage.list_documents("silence") == [("s-1", body(until="2026-04-02T00:00:00Z"))]

    clock.advance(1)
    assert await storage.put_document("channel", "ops-hook", body(v=2)) is False
    assert await storage.put_document("channel", "email", body(v=1)) is True
    storage = await reopen(storage)
    assert await storage.list_documents("channel") == [
        ("ops-hook", body(v=2)),
        ("pager", body(v=1)),
        ("email", body(v=1)),
    ]


async def test_projects_keep_their_documents_apart(
    storage: Storage, place: StorePlace, clock: FakeClock
) -> None:
    await storage.put_document("channel", "ops-hook", body(project="first"))
    await storage.put_document("channel", "first-only", body(project="first"))
    await place.close(storage)

    other = await place.open(OTHER_PROJECT)
    assert await other.list_documents("channel") == []
    assert await other.get_document("channel", "ops-hook") is None
    assert await other.delete_document("channel", "first-only") is False
    clock.advance(timedelta(hours=1).total_seconds())
    # The same kind and key in another project is another document.
    assert await other.put_document("channel", "ops-hook", body(project="second")) is True
    await place.close(other)

    storage = await place.open()
    assert await storage.list_documents("channel") == [
        ("first-only", body(project="first")),
        ("ops-hook", body(project="first")),
    ]


async def test_apply_documents_puts_deletes_and_logs_in_one_step(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.put_document("job", "a", body(n=1))
    await storage.put_document("job", "b", body(n=1))
    clock.advance(60)

    await storage.apply_documents(
        puts=[("job", "a", body(n=2)), ("job", "c", body(n=1))],
        deletes=[("job", "b"), ("job", "never-there")],
        log=[DeliveryLogEntry(["alert-1", "alert-2"], clock.now(), body(attempt=1))],
    )
    await storage.apply_documents()  # nothing to do

    # Replaced in place (its creation time kept), added after it, deleted.
    assert await storage.list_documents("job") == [("a", body(n=2)), ("c", body(n=1))]
    assert await storage.list_delivery_log("alert-1") == [body(attempt=1)]
    assert await storage.list_delivery_log("alert-2") == [body(attempt=1)]
