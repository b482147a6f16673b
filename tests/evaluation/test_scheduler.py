"""The scheduler counts every run of every job, and the failed ones, since the start."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from monitorx.core import FakeClock
from monitorx.evaluation.scheduler import Scheduler


async def test_runs_and_failures_are_counted_per_job() -> None:
    scheduler = Scheduler(FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    runs = {"ok": 0, "broken": 0}
    enough = asyncio.Event()

    def ran(name: str) -> None:
        runs[name] += 1
        if min(runs.values()) >= 3:
            enough.set()

    async def ok() -> None:
        ran("ok")

    async def broken() -> None:
        ran("broken")
        raise RuntimeError("the store is away")

    scheduler.every(0.001, "ok", ok)
    scheduler.every(0.001, "broken", broken)
    scheduler.start()
    try:
        async with asyncio.timeout(10):
            await enough.wait()
    finally:
        await scheduler.stop()
    states = {job.name: job for job in scheduler.jobs}
    assert states["ok"].runs == runs["ok"] and states["ok"].failures == 0
    assert states["broken"].runs == runs["broken"] == states["broken"].failures
    assert states["broken"].failures_in_a_row == runs["broken"]
    assert states["broken"].last_error == "RuntimeError: the store is away"
