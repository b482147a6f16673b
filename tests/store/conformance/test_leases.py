"""Leases: one holder at a time, taken over once it runs out, with a fencing token
that refuses the writes of a holder that lost it — on PostgreSQL between two
stores on one database, as between two replicas."""

from __future__ import annotations

import asyncio

import pytest

from monitorx.core import LeaseLost
from monitorx.store import Storage
from monitorx.store.leases import Fence
from tests.store.conformance.store_place import StorePlace


async def _two(place: StorePlace, storage: Storage) -> tuple[Storage, Storage]:
    return (storage, await place.open()) if place.backend == "postgres" else (storage, storage)


async def test_one_holder_at_a_time_and_a_new_token_on_each_change(
    place: StorePlace, storage: Storage
) -> None:
    a, b = await _two(place, storage)
    token = await a.acquire_lease("notifier", "replica-a", 30)
    assert token is not None
    assert await b.acquire_lease("notifier", "replica-b", 30) is None
    assert await a.acquire_lease("notifier", "replica-a", 30) == token  # renewed
    assert await a.lease_holder("notifier") == ("replica-a", token)
    assert await b.acquire_lease("jobs", "replica-b", 30) is not None  # another name

    await a.release_lease("notifier", "replica-a")

    taken = await b.acquire_lease("notifier", "replica-b", 30)
    assert taken is not None and taken > token
    assert await a.acquire_lease("notifier", "replica-a", 30) is None


async def test_a_lease_that_runs_out_is_taken_over(place: StorePlace, storage: Storage) -> None:
    a, b = await _two(place, storage)
    token = await a.acquire_lease("jobs", "replica-a", 0.3)
    assert token is not None
    assert await b.acquire_lease("jobs", "replica-b", 30) is None
    await asyncio.sleep(0.5)

    taken = await b.acquire_lease("jobs", "replica-b", 30)

    assert taken is not None and taken > token
    assert await a.lease_holder("jobs") == ("replica-b", taken)


async def test_writes_of_a_superseded_holder_are_refused_whole(
    place: StorePlace, storage: Storage
) -> None:
    a, b = await _two(place, storage)
    token = await a.acquire_lease("notifier", "replica-a", 0.3)
    assert token is not None
    fence = Fence("notifier", "replica-a", token)
    await a.apply_documents([("nflog", "g1", "first")], fence=fence)
    assert await a.get_document("nflog", "g1") == "first"
    await asyncio.sleep(0.5)
    taken = await b.acquire_lease("notifier", "replica-b", 30)
    assert taken is not None

    with pytest.raises(LeaseLost):
        await a.apply_documents([("nflog", "g1", "stale"), ("nflog", "g2", "stale")], fence=fence)

    assert await b.get_document("nflog", "g1") == "first"
    assert await b.get_document("nflog", "g2") is None
    await b.apply_documents(
        [("nflog", "g1", "second")], fence=Fence("notifier", "replica-b", taken)
    )
    assert await a.get_document("nflog", "g1") == "second"
