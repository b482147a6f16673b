"""Background delivery for the async client: a queue drained by one task on its loop.

``record()`` may be called from the loop or from any thread (a sync function run in
an executor); it never awaits the network and never raises. The task sends batches
every ``flush_interval_s`` or once ``batch_size`` metrics wait, and retries a batch
that did not get through with backoff, as the thread-based worker does.
"""

from __future__ import annotations

__all__ = ["AsyncRecorder"]

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from monitorx.core.backoff import Backoff
from monitorx.core.errors import MonitorXError
from monitorx.sdk.errors import CircuitOpenError, is_transient
from monitorx.sdk.payloads import JSONObject
from monitorx.sdk.results import WriteResult

logger = logging.getLogger("monitorx.sdk")


class AsyncRecorder:
    """A bounded queue of metrics that a task on the client's event loop sends in batches."""

    def __init__(
        self,
        deliver: Callable[[list[JSONObject]], Awaitable[WriteResult]],
        *,
        batch_size: int = 1000,
        flush_interval_s: float = 0.2,
        queue_size: int = 10_000,
        retry_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._deliver = deliver
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue_size = queue_size
        self.retry_backoff_s = retry_backoff_s
        self.max_backoff_s = max_backoff_s
        self._queue: deque[JSONObject] = deque()
        self._inflight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self.delivered = 0
        self.rejected = 0
        self.dropped = 0
        self.failed_attempts = 0

    @property
    def pending(self) -> int:
        """Metrics queued or being sent."""
        return len(self._queue) + self._inflight

    def record(self, metric: JSONObject) -> bool:
        """Queue one metric from any thread; False when it had to be dropped."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (
            self._loop is None or self._loop is running or self._loop.is_closed()
        ):
            self._append(metric, running)
            return True
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                loop.call_soon_threadsafe(self._append, metric, loop)
                return True
            except RuntimeError:  # the loop closed between the check and the call
                pass
        self.dropped += 1
        if self.dropped == 1:
            logger.warning(
                "MonitorXClient: a metric was recorded outside its event loop and dropped; "
                "use the sync MonitorX client (or the default exporter) from threads"
            )
        return False

    def _append(self, metric: JSONObject, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:
            self._loop = loop
            self._wake = asyncio.Event()
            self._idle = asyncio.Event()
            self._task = None
        assert self._wake is not None and self._idle is not None
        if len(self._queue) >= self.queue_size:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(metric)
        self._idle.clear()
        if len(self._queue) >= self.batch_size:
            self._wake.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="monitorx-async-recorder")

    async def _run(self) -> None:
        assert self._wake is not None and self._idle is not None
        while self._queue:
            if len(self._queue) < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            self._wake.clear()
            count = min(self.batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(count)]
            self._inflight = len(batch)
            try:
                await self._send(batch)
            except Exception:  # the task must not die with metrics queued
                logger.exception("MonitorXClient recorder failed on %d metrics", len(batch))
            finally:
                self._inflight = 0
        self._idle.set()

    async def _send(self, batch: list[JSONObject]) -> None:
        attempt = 0
        while True:
            try:
                result = await self._deliver(batch)
            except MonitorXError as exc:
                if not is_transient(exc):  # refused for good: 401, 403, 413, …
                    logger.error("MonitorX refused a batch of %d metrics: %s", len(batch), exc)
                    self.dropped += len(batch)
                    return
                self.failed_attempts += 1
                if attempt == 0:
                    logger.warning("MonitorXClient delivery failed, will retry: %s", exc)
                if isinstance(exc, CircuitOpenError):
                    delay = exc.retry_in_s
                else:
                    delay = Backoff(self.retry_backoff_s, self.max_backoff_s).delay_s(attempt)
                await asyncio.sleep(max(delay, 0.001))
                attempt += 1
                continue
            self.delivered += result.accepted
            self.rejected += len(result.rejected)
            if result.rejected:
                logger.warning(
                    "MonitorX server rejected %d of %d metrics; first: %s",
                    len(result.rejected),
                    len(batch),
                    result.rejected[0].error,
                )
            return

    async def flush(self, within_s: float = 10.0) -> bool:
        """Send what is queued now; True when everything queued was delivered in time."""
        if self._idle is None or self._wake is None or not self.pending:
            return True
        self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), within_s)
        except TimeoutError:
            return False
        return True

    async def aclose(self, within_s: float = 10.0) -> bool:
        """Flush, then stop the task; what is left is dropped and logged."""
        delivered = await self.flush(within_s)
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._queue:
            left = len(self._queue) + self._inflight
            logger.warning("MonitorXClient closed with %d recorded metrics undelivered", left)
            self.dropped += left
            self._queue.clear()
        return delivered
