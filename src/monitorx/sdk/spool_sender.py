"""Sending a :class:`~monitorx.sdk.spool.DiskSpool` back to the server, with backoff.

The exporter's worker thread owns one :class:`SpoolSender`. After a transient
failure (server unreachable, 429, 5xx, breaker open) the sender *defers*: until the
backoff has passed, new batches go straight to disk without a try, so an outage
costs one ``write()`` per batch rather than a connection attempt. Once the backoff
has passed and the spool holds metrics, :meth:`SpoolSender.send` sends them oldest
first, acking each chunk after the server took it.
"""

from __future__ import annotations

__all__ = ["ChunkOutcome", "SpoolSender"]

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitorx.core.errors import MonitorXError
from monitorx.sdk.errors import CircuitOpenError, is_transient
from monitorx.sdk.payloads import JSONObject
from monitorx.sdk.results import WriteResult
from monitorx.sdk.spool import DiskSpool

logger = logging.getLogger("monitorx.sdk")

# The shortest deferral, so that a zero backoff cannot spin.
_MIN_DEFER_S = 0.001


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    """What became of one chunk read from the spool."""

    result: WriteResult  # what the server took and rejected
    refused: int = 0  # metrics dropped because the server refused them for good (4xx)
    failed: bool = False  # a transient failure: the chunk stays spooled


class SpoolSender:
    """Decides when to try the server again and sends the spool when it is time."""

    def __init__(
        self,
        spool: DiskSpool,
        deliver: Callable[[list[JSONObject]], WriteResult],
        *,
        batch_size: int,
        retry_backoff_s: float,
        max_backoff_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spool = spool
        self._deliver = deliver
        self._batch_size = batch_size
        self._retry_backoff_s = retry_backoff_s
        self._max_backoff_s = max_backoff_s
        self._clock = clock
        self._until = 0.0
        self._failures = 0

    @property
    def deferring(self) -> bool:
        """True while a recent failure's backoff lasts: batches go to disk untried."""
        return self._clock() < self._until

    @property
    def due(self) -> bool:
        """True when the spool holds metrics and the backoff has passed."""
        return self.spool.pending > 0 and not self.deferring

    def failed(self, exc: MonitorXError) -> None:
        """Defer after a transient failure: the breaker's wait, else doubling backoff."""
        if isinstance(exc, CircuitOpenError):
            delay = exc.retry_in_s
        else:
            delay = min(self._max_backoff_s, self._retry_backoff_s * 2.0**self._failures)
        self._failures += 1
        self._until = self._clock() + max(delay, _MIN_DEFER_S)

    def succeeded(self) -> None:
        """The server took a batch: the next failure starts the backoff afresh."""
        self._failures = 0

    def defer_for(self, seconds: float) -> None:
        """Leave the spool alone for ``seconds`` (after an unexpected error)."""
        self._until = self._clock() + seconds

    def send(
        self, should_stop: Callable[[], bool], on_chunk: Callable[[ChunkOutcome], bool]
    ) -> None:
        """Send chunks of the spool until it is empty, a try fails, ``should_stop()``,
        or ``on_chunk`` (told of each chunk's outcome) returns False."""
        while not should_stop():
            chunk = self.spool.read(self._batch_size)
            if chunk is None:
                return
            try:
                result = self._deliver(chunk.metrics) if chunk.metrics else WriteResult()
            except MonitorXError as exc:
                if is_transient(exc):
                    self.failed(exc)
                    on_chunk(ChunkOutcome(WriteResult(), failed=True))
                    return
                logger.error("MonitorX refused %d spooled metrics: %s", len(chunk.metrics), exc)
                self.spool.ack(chunk)
                if not on_chunk(ChunkOutcome(WriteResult(), refused=len(chunk.metrics))):
                    return
                continue
            self.spool.ack(chunk)
            self.succeeded()
            if not on_chunk(ChunkOutcome(result)):
                return
