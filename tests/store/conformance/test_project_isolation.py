"""Projects sharing one storage URL see nothing of each other.

The projects take turns, as servers of two projects on one database would across
a redeploy (an embedded DuckDB file admits one server process at a time).
"""

from __future__ import annotations

from monitorx.store import Resolution, Storage
from tests.store.conformance.contents import WHOLE, Contents, assert_holds, write_contents
from tests.store.conformance.samples import MODELS
from tests.store.conformance.store_place import PROJECT, StorePlace

OTHER_PROJECT = "conformance-other"


async def test_a_second_project_on_the_same_url_starts_empty(
    storage: Storage, place: StorePlace
) -> None:
    await write_contents(storage, seed=71, prefix="first")
    await place.close(storage)

    other = await place.open(OTHER_PROJECT)

    await assert_holds(other, Contents())


async def test_each_project_reads_back_its_own_data_alone(
    storage: Storage, place: StorePlace
) -> None:
    first = await write_contents(storage, seed=72, prefix="first")
    await place.close(storage)
    other = await place.open(OTHER_PROJECT)
    second = await write_contents(other, seed=73, prefix="second")
    await place.close(other)

    storage = await place.open()
    await assert_holds(storage, first)
    await place.close(storage)
    other = await place.open(OTHER_PROJECT)
    await assert_holds(other, second)


async def test_deletes_in_one_project_leave_the_other_intact(
    storage: Storage, place: StorePlace
) -> None:
    first = await write_contents(storage, seed=74, prefix="first")
    await place.close(storage)
    other = await place.open(OTHER_PROJECT)
    await write_contents(other, seed=75, prefix="second")

    for model_id in MODELS:
        await other.purge_model_data(model_id)
    await other.delete_metrics_before(WHOLE[1])
    for resolution in (Resolution.MINUTE, Resolution.HOUR):
        await other.delete_rollups(resolution, *WHOLE)
    await other.delete_model("first-fraud")  # the first project's model id
    await other.set_marker("rollup:1m", "second:overwritten")
    await place.close(other)

    storage = await place.open()
    await assert_holds(storage, first)


async def test_project_views_share_the_store_and_keep_their_data_apart(
    storage: Storage, place: StorePlace
) -> None:
    """One server serving two projects at once: the second is a view of the first
    store (`Storage.for_project`) on the same connections, open beside it."""
    other = storage.for_project(OTHER_PROJECT)
    await other.open()
    try:
        assert (storage.project_id, other.project_id) == (PROJECT, OTHER_PROJECT)
        first = await write_contents(storage, seed=76, prefix="first")
        second = await write_contents(other, seed=77, prefix="second")
        await assert_holds(storage, first)
        await assert_holds(other, second)
    finally:
        await other.close()
    # Closing the view leaves the store open; reopened, each project keeps its own.
    await assert_holds(storage, first)
    storage = await place.reopen(storage)
    await assert_holds(storage, first)
    other = storage.for_project(OTHER_PROJECT)
    await other.open()
    try:
        await assert_holds(other, second)
    finally:
        await other.close()


async def test_the_same_model_id_in_two_project_views_holds_different_data(
    storage: Storage,
) -> None:
    other = storage.for_project(OTHER_PROJECT)
    await other.open()
    try:
        first = await write_contents(storage, seed=78, prefix="same")
        second = await write_contents(other, seed=79, prefix="same")
        await assert_holds(storage, first)
        await assert_holds(other, second)
    finally:
        await other.close()


async def test_stored_projects_are_those_with_models_alerts_or_documents(
    storage: Storage,
) -> None:
    assert await storage.stored_projects() == set()
    other = storage.for_project(OTHER_PROJECT)
    await other.open()
    try:
        await write_contents(storage, seed=80, prefix="first")
        assert await storage.stored_projects() == {PROJECT}
        await other.put_document("channel", "hook", "{}")
        assert await other.stored_projects() == {PROJECT, OTHER_PROJECT}
    finally:
        await other.close()
