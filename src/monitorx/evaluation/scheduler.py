"""Scheduled work, in one place: each job runs every N seconds in its own task.

Every run is recorded (when it started and ended on the server's clock, and how it
ended), so that `health` can say which job is overdue or failing.
"""

from __future__ import annotations

__all__ = ["Job", "JobState", "Scheduler"]

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitorx.core import Clock
from monitorx.core.health import FAILED_ATTEMPTS, OVERDUE_INTERVALS, Check, Health

logger = logging.getLogger("monitorx.scheduler")

Job = Callable[[], Awaitable[object]]


@dataclass(slots=True)
class JobState:
    """One job's schedule and what its runs did."""

    name: str
    interval_s: float
    job: Job
    once_per_cluster: bool = False
    runs: int = 0
    skipped: int = 0  # turns another replica ran (it holds the jobs lease)
    failures: int = 0  # since the start
    failures_in_a_row: int = 0
    running_since: datetime | None = None
    last_finished: datetime | None = None
    last_error: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "interval_s": self.interval_s,
            "runs": self.runs,
            "once_per_cluster": self.once_per_cluster,
            "skipped": self.skipped,
            "last_run": None if self.last_finished is None else self.last_finished.isoformat(),
            "running": self.running_since is not None,
            "failures_in_a_row": self.failures_in_a_row,
            "last_error": self.last_error or None,
        }


class Scheduler:
    """Runs every job on its interval. Jobs added ``once_per_cluster`` run only
    while ``runs_cluster_jobs`` says so — where replicas share the store, while
    this replica holds the jobs lease (store.leases) — so that rollups, retention,
    evaluations and scans run once per cluster, and on another replica when the
    holder dies."""

    def __init__(self, clock: Clock, runs_cluster_jobs: Callable[[], bool] | None = None) -> None:
        self._clock = clock
        self._runs_cluster_jobs = runs_cluster_jobs
        self._jobs: list[JobState] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at: datetime | None = None

    def every(self, seconds: float, name: str, job: Job, *, once_per_cluster: bool = False) -> None:
        self._jobs.append(JobState(name, seconds, job, once_per_cluster))

    def _runs_here(self, state: JobState) -> bool:
        return (
            not state.once_per_cluster
            or self._runs_cluster_jobs is None
            or self._runs_cluster_jobs()
        )

    @property
    def jobs(self) -> tuple[JobState, ...]:
        """Every job's state, in the order they were added (read it, don't change it)."""
        return tuple(self._jobs)

    def start(self) -> None:
        self._started_at = self._clock.now()
        for state in self._jobs:
            self._tasks.append(asyncio.create_task(self._loop(state), name=state.name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _loop(self, state: JobState) -> None:
        while True:
            await asyncio.sleep(state.interval_s)
            if not self._runs_here(state):
                state.skipped += 1
                state.last_finished = self._clock.now()  # not overdue: done elsewhere
                continue
            state.running_since = self._clock.now()
            try:
                await state.job()
            except Exception as exc:
                state.failures += 1
                state.failures_in_a_row += 1
                state.last_error = f"{type(exc).__name__}: {exc}"
                logger.exception("scheduled job %s failed", state.name)
            else:
                state.failures_in_a_row = 0
                state.last_error = ""
            finally:
                state.runs += 1
                state.running_since = None
                state.last_finished = self._clock.now()

    def health(self) -> Check:
        """Degraded while a job is overdue by more than `OVERDUE_INTERVALS` of its
        intervals (counted from its last run, or from the start), or its last
        `FAILED_ATTEMPTS` runs failed; the jobs' states either way."""
        now = self._clock.now()
        reasons = []
        for state in self._jobs:
            if state.failures_in_a_row >= FAILED_ATTEMPTS:
                reasons.append(
                    f"job {state.name} failed {state.failures_in_a_row} times in a row: "
                    f"{state.last_error}"
                )
            since = state.running_since or state.last_finished or self._started_at
            if since is None:
                continue  # not started: nothing is due yet
            late = now - since - timedelta(seconds=state.interval_s)
            if late > timedelta(seconds=OVERDUE_INTERVALS * state.interval_s):
                doing = "running" if state.running_since else "not run"
                reasons.append(
                    f"job {state.name} is {doing} {late.total_seconds():.0f} s past its "
                    f"{state.interval_s:g} s interval"
                )
        jobs = {state.name: state.to_json() for state in self._jobs}
        status = Health.DEGRADED if reasons else Health.HEALTHY
        return Check(status, "; ".join(reasons), {"jobs": jobs})
