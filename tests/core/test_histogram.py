"""`BucketHistogram`: Prometheus' bucket semantics (a value equal to a bound is in
that bound's bucket; buckets are cumulative when read)."""

from __future__ import annotations

import pytest

from monitorx.core.histogram import SECONDS_BUCKETS, BucketHistogram


def test_a_value_on_a_bound_counts_in_that_bucket_and_reads_cumulative() -> None:
    histogram = BucketHistogram([1, 5, 10])
    for value in (0.5, 1, 1.01, 5, 10, 11, 1e9):
        histogram.observe(value)
    assert histogram.counts == [2, 2, 1, 2]
    assert histogram.cumulative() == [(1.0, 2), (5.0, 4), (10.0, 5), (float("inf"), 7)]
    assert histogram.count == 7
    assert histogram.sum == pytest.approx(0.5 + 1 + 1.01 + 5 + 10 + 11 + 1e9)


def test_counts_made_elsewhere_add_up() -> None:
    histogram = BucketHistogram(SECONDS_BUCKETS)
    histogram.observe(0.002)
    histogram.add([0] * len(SECONDS_BUCKETS) + [3], 60.0)
    assert histogram.count == 4 and histogram.sum == pytest.approx(60.002)
    with pytest.raises(ValueError, match="bucket counts"):
        histogram.add([1], 1.0)


@pytest.mark.parametrize("bounds", [[1, 1, 2], [2, 1]])
def test_bounds_must_increase(bounds: list[float]) -> None:
    with pytest.raises(ValueError, match="increase"):
        BucketHistogram(bounds)
