"""Plain histograms the server's parts keep of their own work.

The ingest service (batch sizes, store write times) and the server's request layer
(request latency) observe into a `BucketHistogram`; the server's Prometheus
collector reads them when it is scraped and exposes them as histogram families.
Observing is one bisect and two additions, with no lock: each histogram is
observed from one thread only (the server's event loop), and a scrape reads it
from that thread too.
"""

from __future__ import annotations

__all__ = ["SECONDS_BUCKETS", "BucketHistogram"]

from bisect import bisect_left
from collections.abc import Sequence

SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds for durations in seconds: Prometheus' default buckets, with three
more below 5 ms, where an ingest request and a store write usually fall."""


class BucketHistogram:
    """Counts of observed values per bucket, and their sum.

    ``bounds`` are the buckets' inclusive upper bounds, increasing; a last bucket
    past the largest bound (``+Inf``) is implied. ``counts[i]`` holds the values
    that fell in bucket ``i`` alone (not cumulative), as Prometheus' ``le``
    buckets subtract them.
    """

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(set(bounds)):
            raise ValueError(f"bucket bounds must increase strictly: {list(bounds)}")
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le).
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def copy(self) -> BucketHistogram:
        copied = BucketHistogram.__new__(BucketHistogram)
        copied.bounds, copied.counts, copied.sum = self.bounds, list(self.counts), self.sum
        return copied

    def add(self, counts: Sequence[int], total: float) -> None:
        """Add values counted elsewhere: ``counts`` per bucket, as `counts` holds
        them, and their sum."""
        if len(counts) != len(self.counts):
            raise ValueError(f"{len(counts)} bucket counts for {len(self.counts)} buckets")
        for index, count in enumerate(counts):
            self.counts[index] += count
        self.sum += total

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """``(upper bound, values at or below it)`` per bucket, the last ``+Inf``."""
        running = 0
        buckets = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            buckets.append((bound, running))
        return buckets
