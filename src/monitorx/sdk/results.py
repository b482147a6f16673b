"""What a write returns (how much the server accepted, what it refused, what waits),
and what the background worker counts (:class:`WorkerStats`)."""

from __future__ import annotations

__all__ = ["RejectedMetric", "WorkerStats", "WriteResult"]

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RejectedMetric:
    """One item of a batch that was refused, by its position in the list that was sent."""

    index: int
    error: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of a metric write.

    ``accepted`` items are stored on the server; ``rejected`` ones were invalid and
    will never be (each names its index and why); ``buffered`` ones could not be
    delivered now and wait in the client's buffer for ``flush_buffer()``.
    """

    accepted: int = 0
    rejected: tuple[RejectedMetric, ...] = field(default=())
    buffered: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.accepted + other.accepted,
            self.rejected + other.rejected,
            self.buffered + other.buffered,
        )


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """Counters of the background worker since it started (or since a fork)."""

    recorded: int
    queued: int
    delivered: int
    rejected: int
    dropped: int
    lost: int
    failed_attempts: int
    spooled: int = 0
    spool_pending: int = 0
    spool_dropped: int = 0
