"""A hot tier with no retention or no budget holds nothing and claims nothing: a
query reads the store (the tier of a cluster's replica, which would hold only its
own writes)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from monitorx.store.samples.hot import SampleHotTier

NOW_US = 1_800_000_000_000_000


def _samples() -> pa.Table:
    return pa.table(
        {
            "series_id": pa.array([1, 1], pa.int64()),
            "ts": pa.array([NOW_US - 10, NOW_US - 5], pa.int64()),
            "value": pa.array([1.0, 2.0], pa.float64()),
        }
    )


@pytest.mark.parametrize(("retention_us", "max_points"), [(0, 1000), (3_600_000_000, 0)])
def test_a_tier_without_retention_or_budget_covers_nothing(
    retention_us: int, max_points: int
) -> None:
    hot = SampleHotTier(retention_us, max_points, NOW_US - 1000)
    hot.append(_samples(), NOW_US)
    assert hot.points == 0
    assert not hot.covers(NOW_US - 100)


def test_a_tier_with_retention_covers_what_it_holds() -> None:
    hot = SampleHotTier(3_600_000_000, 1000, NOW_US - 1000)
    hot.append(_samples(), NOW_US)
    assert hot.covers(NOW_US - 100)
    [(sid, ts, values)] = hot.read([1], NOW_US - 100, NOW_US)
    assert sid == 1 and ts.tolist() == [NOW_US - 10, NOW_US - 5]
    assert values.tolist() == [1.0, 2.0]
