"""A restart (close, then open on the same URL and data directory) keeps everything
that was written, and nothing that was deleted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import numpy as np

from monitorx.core import AlertStatus
from monitorx.store import Resolution, Storage
from tests.store.conformance.contents import (
    DATA_START,
    Contents,
    assert_holds,
    with_metrics,
    write_contents,
)
from tests.store.conformance.expected import select, times_us
from tests.store.conformance.samples import MIDNIGHT, MODELS, NOW, random_metrics, us

Reopen = Callable[[Storage], Awaitable[Storage]]


async def test_everything_written_survives_restarts(storage: Storage, reopen: Reopen) -> None:
    written = await write_contents(storage, seed=81, prefix="before")

    storage = await reopen(storage)
    await assert_holds(storage, written)
    storage = await reopen(storage)
    await assert_holds(storage, written)


async def test_writes_after_a_restart_join_what_was_there(storage: Storage, reopen: Reopen) -> None:
    written = await write_contents(storage, seed=82, prefix="before")
    storage = await reopen(storage)

    later = random_metrics(np.random.default_rng(83), 200, DATA_START, 3 * 3600, id_prefix="after")
    await storage.write_metrics(later)
    model = replace(written.models[0], version="2")
    assert await storage.save_model(model) is False  # it was created before the restart
    firing = next(a for a in written.alerts if a.status is AlertStatus.FIRING)
    resolved = firing.evolve(status=AlertStatus.RESOLVED, resolved_at=NOW)
    await storage.save_alert(resolved)
    await storage.set_marker("rollup:1m", "after")

    expected = replace(
        with_metrics(written, later),
        models=[model, *written.models[1:]],
        alerts=[resolved if a.id == firing.id else a for a in written.alerts],
        markers={**written.markers, "rollup:1m": "after"},
    )
    await assert_holds(storage, expected)
    await assert_holds(await reopen(storage), expected)


async def test_deleted_data_stays_deleted_after_a_restart(storage: Storage, reopen: Reopen) -> None:
    written = await write_contents(storage, seed=84, prefix="before")
    purged = MODELS[2]

    await storage.delete_metrics_before(MIDNIGHT)
    await storage.purge_model_data(purged)
    await storage.delete_rollups(Resolution.MINUTE, MIDNIGHT - timedelta(days=1), MIDNIGHT)
    await storage.delete_model(written.models[1].id)
    storage = await reopen(storage)

    stamps, models = times_us(written.metrics), np.asarray(written.metrics.model_id)
    minutes = written.rollups[Resolution.MINUTE]
    buckets = minutes.column("bucket").to_pylist()
    remaining = Contents(
        metrics=select(written.metrics, (stamps >= us(MIDNIGHT)) & (models != purged)),
        drift=[d for d in written.drift if d.timestamp >= MIDNIGHT and d.model_id != purged],
        alerts=[a for a in written.alerts if a.model_id != purged],
        models=written.models[:1],
        rollups={
            **written.rollups,
            Resolution.MINUTE: minutes.filter(
                [b >= MIDNIGHT.replace(tzinfo=None) for b in buckets]
            ),
        },
        markers=written.markers,
    )
    await assert_holds(storage, remaining)


async def test_ping_answers_before_and_after_a_restart(storage: Storage, reopen: Reopen) -> None:
    await storage.ping()
    await (await reopen(storage)).ping()
