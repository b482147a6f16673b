"""Scheduled work, in one place: each job runs every N seconds in its own task."""

from __future__ import annotations

__all__ = ["Scheduler"]

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("monitorx.scheduler")

Job = Callable[[], Awaitable[object]]


class Scheduler:
    def __init__(self) -> None:
        self._jobs: list[tuple[str, float, Job]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, name: str, job: Job) -> None:
        self._jobs.append((name, seconds, job))

    def start(self) -> None:
        for name, seconds, job in self._jobs:
            self._tasks.append(asyncio.create_task(self._loop(name, seconds, job), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    @staticmethod
    async def _loop(name: str, seconds: float, job: Job) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                logger.exception("scheduled job %s failed", name)
