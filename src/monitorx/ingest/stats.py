"""What the ingest service has done since the server started, counted as it goes.

Plain integers and histograms, no exporter: the server's Prometheus collector
reads them when it is scraped (``monitorx_ingest_*``, ``monitorx_storage_write_*``).
Every way data comes in counts under its `IngestKind`.
"""

from __future__ import annotations

__all__ = ["BATCH_SIZE_BUCKETS", "IngestKind", "IngestStats"]

from dataclasses import dataclass, field
from enum import StrEnum

from monitorx.core.histogram import SECONDS_BUCKETS, BucketHistogram

BATCH_SIZE_BUCKETS = (1, 10, 100, 1_000, 5_000, 10_000)
"""Upper bounds of items per request body: one metric, small and large batches,
up to the 10,000-item limit of a batch."""


class IngestKind(StrEnum):
    """What was written: the label ``kind`` of the ingest families."""

    INFERENCE = "inference"  # inference metrics
    DRIFT = "drift"  # drift metrics, a client's or a platform analysis'
    CUSTOM = "custom"  # custom samples (any way in: JSON, OTLP, line protocol, remote_write)


def _per_kind() -> dict[IngestKind, int]:
    return dict.fromkeys(IngestKind, 0)


def _histograms(bounds: tuple[float, ...]) -> dict[IngestKind, BucketHistogram]:
    return {kind: BucketHistogram(bounds) for kind in IngestKind}


@dataclass(slots=True)
class IngestStats:
    """Counters of items accepted and rejected, the sizes of the bodies they came
    in, and the store writes' durations and failures, each per `IngestKind`."""

    accepted: dict[IngestKind, int] = field(default_factory=_per_kind)
    rejected: dict[IngestKind, int] = field(default_factory=_per_kind)
    batch_sizes: dict[IngestKind, BucketHistogram] = field(
        default_factory=lambda: _histograms(BATCH_SIZE_BUCKETS)
    )
    write_seconds: dict[IngestKind, BucketHistogram] = field(
        default_factory=lambda: _histograms(SECONDS_BUCKETS)
    )
    write_errors: dict[IngestKind, int] = field(default_factory=_per_kind)

    def copy(self) -> IngestStats:
        """The counts as they are now, apart from later changes."""
        return IngestStats(
            dict(self.accepted),
            dict(self.rejected),
            {kind: h.copy() for kind, h in self.batch_sizes.items()},
            {kind: h.copy() for kind, h in self.write_seconds.items()},
            dict(self.write_errors),
        )

    def count(self, kind: IngestKind, accepted: int, rejected: int = 0) -> None:
        """One request body's outcome: ``accepted`` items stored, ``rejected``
        refused (invalid, or past a limit)."""
        self.accepted[kind] += accepted
        self.rejected[kind] += rejected
        self.batch_sizes[kind].observe(accepted + rejected)
