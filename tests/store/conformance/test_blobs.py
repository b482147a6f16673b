"""Blobs, the bytes of drift reference sets and logged records: `put_blob` (create
and replace), `get_blob`, `list_blob_keys` by prefix in key order, `delete_blobs`
by prefix, each kind and project apart, dropped with their model by
`purge_model_data`, and all of it kept across a restart."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from monitorx.store import Storage
from tests.store.conformance.store_place import StorePlace

Reopen = Callable[[Storage], Awaitable[Storage]]
OTHER_PROJECT = "conformance-other"
# Every byte value, a NUL in the middle, and a few MB of incompressible noise.
EVERY_BYTE = bytes(range(256)) * 4
LARGE = os.urandom(3 * 1024 * 1024)


async def test_put_then_get_returns_the_same_bytes(storage: Storage) -> None:
    await storage.put_blob("drift-reference", "fraud-v3/reference", EVERY_BYTE)
    await storage.put_blob("drift-records", "fraud-v3/large", LARGE)
    await storage.put_blob("drift-records", "fraud-v3/empty", b"")

    assert await storage.get_blob("drift-reference", "fraud-v3/reference") == EVERY_BYTE
    assert await storage.get_blob("drift-records", "fraud-v3/large") == LARGE
    assert await storage.get_blob("drift-records", "fraud-v3/empty") == b""


async def test_put_replaces_and_a_missing_blob_is_none(storage: Storage) -> None:
    await storage.put_blob("drift-reference", "m/reference", b"first")
    await storage.put_blob("drift-reference", "m/reference", b"second")

    assert await storage.get_blob("drift-reference", "m/reference") == b"second"
    assert await storage.list_blob_keys("drift-reference") == ["m/reference"]
    assert await storage.get_blob("drift-records", "m/reference") is None  # another kind
    assert await storage.get_blob("drift-reference", "m/referenc") is None  # a prefix
    assert await storage.get_blob("drift-reference", "never-put") is None


async def test_keys_are_listed_by_prefix_in_code_point_order(storage: Storage) -> None:
    keys = ["b/2", "a/10", "a/9", "a/1", "A/1", "ab/1", "a_/1", "é/1"]
    for key in keys:
        await storage.put_blob("records", key, key.encode())
    await storage.put_blob("labels", "a/5", b"another kind")

    assert await storage.list_blob_keys("records") == sorted(keys)
    assert await storage.list_blob_keys("records", "a/") == ["a/1", "a/10", "a/9"]
    assert await storage.list_blob_keys("records", "a") == ["a/1", "a/10", "a/9", "a_/1", "ab/1"]
    # Characters that LIKE patterns would read as wildcards are plain characters here.
    assert await storage.list_blob_keys("records", "a_") == ["a_/1"]
    assert await storage.list_blob_keys("records", "%") == []
    assert await storage.list_blob_keys("labels") == ["a/5"]
    assert await storage.list_blob_keys("nothing") == []


async def test_delete_by_prefix_counts_what_it_removed(storage: Storage) -> None:
    for key in ("m1/0001/c1", "m1/0001/c2", "m1/0002/c1", "m10/0001/c1"):
        await storage.put_blob("records", key, b"x")
    await storage.put_blob("labels", "m1/0001/c1", b"y")

    assert await storage.delete_blobs("records", "m1/0001/") == 2
    assert await storage.list_blob_keys("records") == ["m1/0002/c1", "m10/0001/c1"]
    assert await storage.delete_blobs("records", "m1/") == 1
    assert await storage.delete_blobs("records", "m1/") == 0
    assert await storage.list_blob_keys("records") == ["m10/0001/c1"]
    assert await storage.get_blob("labels", "m1/0001/c1") == b"y"


async def test_purging_a_model_drops_its_blobs_only(storage: Storage) -> None:
    for key in ("m1", "m1/reference", "m1/0001/c1", "m10/reference", "m1x/reference"):
        await storage.put_blob("records", key, b"x")

    await storage.purge_model_data("m1")

    assert await storage.list_blob_keys("records") == ["m10/reference", "m1x/reference"]


async def test_blobs_survive_restarts(storage: Storage, reopen: Reopen) -> None:
    await storage.put_blob("drift-reference", "m/reference", LARGE)
    await storage.put_blob("records", "m/1", b"one")
    await storage.put_blob("records", "m/2", b"two")
    await storage.delete_blobs("records", "m/2")

    storage = await reopen(storage)
    assert await storage.get_blob("drift-reference", "m/reference") == LARGE
    assert await storage.list_blob_keys("records") == ["m/1"]


async def test_projects_keep_their_blobs_apart(storage: Storage, place: StorePlace) -> None:
    await storage.put_blob("records", "m/1", b"first")
    await place.close(storage)

    other = await place.open(OTHER_PROJECT)
    assert await other.list_blob_keys("records") == []
    assert await other.get_blob("records", "m/1") is None
    assert await other.delete_blobs("records", "m/") == 0
    await other.put_blob("records", "m/1", b"second")
    await other.purge_model_data("m")

    first = await place.open()
    assert await first.get_blob("records", "m/1") == b"first"
