"""The delivery log: `append_delivery_log` records a notification attempt for each
alert it carried, `list_delivery_log` reads an alert's attempts back in the order
they were made (the newest ``limit``), and purging a model takes its alerts' log."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import numpy as np

from monitorx.store import Storage
from tests.store.conformance.samples import MODELS, NOW, random_alerts
from tests.store.conformance.store_place import StorePlace

Reopen = Callable[[Storage], Awaitable[Storage]]
OTHER_PROJECT = "conformance-other"


def attempt(n: int, **fields: object) -> str:
    """The JSON body of the ``n``-th attempt."""
    return json.dumps({"attempt": n, **fields}, ensure_ascii=False)


async def test_an_attempt_is_logged_for_each_alert_it_carried(storage: Storage) -> None:
    await storage.append_delivery_log(["a-1", "a-2", "a-3"], NOW, attempt(1, channel="ops"))
    await storage.append_delivery_log(["a-2"], NOW, attempt(2, channel="ops"))
    await storage.append_delivery_log([], NOW, attempt(3))  # carried nothing: logs nothing

    assert await storage.list_delivery_log("a-1") == [attempt(1, channel="ops")]
    assert await storage.list_delivery_log("a-2") == [
        attempt(1, channel="ops"),
        attempt(2, channel="ops"),
    ]
    assert await storage.list_delivery_log("a-3") == [attempt(1, channel="ops")]
    assert await storage.list_delivery_log("a-") == []  # a prefix is not the alert
    assert await storage.list_delivery_log("never-notified") == []


async def test_entries_read_back_in_the_order_they_were_appended(storage: Storage) -> None:
    # Times out of order and repeated: the order is that of the appends.
    rng = np.random.default_rng(91)
    offsets = rng.integers(-3600, 3600, 60)
    offsets[10:20] = 0
    for n, offset in enumerate(offsets):
        alerts = ["busy"] if n % 3 else ["busy", f"other-{n % 2}"]
        await storage.append_delivery_log(alerts, NOW + timedelta(seconds=int(offset)), attempt(n))

    assert await storage.list_delivery_log("busy") == [attempt(n) for n in range(60)]
    assert await storage.list_delivery_log("other-0") == [attempt(n) for n in range(0, 60, 6)]
    assert await storage.list_delivery_log("other-1") == [attempt(n) for n in range(3, 60, 6)]


async def test_the_limit_keeps_the_newest_entries_oldest_first(storage: Storage) -> None:
    for n in range(12):
        await storage.append_delivery_log(["a-1"], NOW, attempt(n))

    assert await storage.list_delivery_log("a-1", limit=5) == [attempt(n) for n in range(7, 12)]
    assert await storage.list_delivery_log("a-1", limit=1) == [attempt(11)]
    assert await storage.list_delivery_log("a-1", limit=12) == [attempt(n) for n in range(12)]
    assert await storage.list_delivery_log("a-1", limit=100) == [attempt(n) for n in range(12)]
    assert await storage.list_delivery_log("a-1", limit=0) == []


async def test_awkward_ids_and_bodies_read_back_exactly(storage: Storage) -> None:
    ids = ['it\'s "q"', "back\\slash; --", "東京 🚀", "%s ? $1"]
    text = attempt(1, error='502 "Bad Gateway" \\ — ошибка\n', channel="ops-hook")

    await storage.append_delivery_log(ids, NOW, text)

    for alert_id in ids:
        assert await storage.list_delivery_log(alert_id) == [text], alert_id


async def test_the_log_survives_restarts_and_grows_after_them(
    storage: Storage, reopen: Reopen
) -> None:
    for n in range(3):
        await storage.append_delivery_log(["a-1", "a-2"], NOW, attempt(n))

    storage = await reopen(storage)
    assert await storage.list_delivery_log("a-1") == [attempt(n) for n in range(3)]

    await storage.append_delivery_log(["a-1"], NOW - timedelta(days=1), attempt(3))
    storage = await reopen(storage)
    assert await storage.list_delivery_log("a-1") == [attempt(n) for n in range(4)]
    assert await storage.list_delivery_log("a-2") == [attempt(n) for n in range(3)]


async def test_purging_a_model_removes_its_alerts_log_alone(storage: Storage) -> None:
    alerts = random_alerts(np.random.default_rng(92), 12, NOW - timedelta(hours=2), 3600)
    for alert in alerts:
        await storage.save_alert(alert)
    for n in range(3):
        await storage.append_delivery_log([a.id for a in alerts], NOW, attempt(n))
    gone = MODELS[0]
    assert {a.model_id for a in alerts} == set(MODELS)

    await storage.purge_model_data(gone)

    for alert in alerts:
        expected = [] if alert.model_id == gone else [attempt(n) for n in range(3)]
        assert await storage.list_delivery_log(alert.id) == expected, alert.model_id


async def test_projects_keep_their_logs_apart(storage: Storage, place: StorePlace) -> None:
    await storage.append_delivery_log(["a-1"], NOW, attempt(1, project="first"))
    await place.close(storage)

    other = await place.open(OTHER_PROJECT)
    assert await other.list_delivery_log("a-1") == []
    await other.append_delivery_log(["a-1"], NOW, attempt(1, project="second"))
    await place.close(other)

    storage = await place.open()
    assert await storage.list_delivery_log("a-1") == [attempt(1, project="first")]
