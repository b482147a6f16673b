"""Label ranking (analysis.label_ranking): the value that carries the breaches
comes first with both shares; rare values, values as common among normal points,
keys of one value and keys of too many values are not offered."""

from __future__ import annotations

import pytest

from monitorx.analysis.label_ranking import MAX_VALUES, LabelCounts, rank_labels


def test_the_value_that_carries_the_breaches_ranks_first_with_both_shares() -> None:
    counts = [
        LabelCounts("region", "eu", 40, 67),
        LabelCounts("region", "us", 0, 107),
        LabelCounts("region", "ap", 0, 106),
        LabelCounts("host", "web-1", 10, 70),
        LabelCounts("host", "web-2", 10, 70),
        LabelCounts("host", "web-3", 10, 70),
        LabelCounts("host", "web-4", 10, 70),
    ]
    (top,) = rank_labels(counts)
    assert (top.label, top.value) == ("region", "eu")
    assert top.breach_share == 1.0
    assert top.normal_share == pytest.approx(67 / 280)
    assert top.lift == pytest.approx((40.5 / 41.5) / (67.5 / 281.5))
    assert 0 < top.surprise < 1
    assert top.sentence() == (
        "region=eu: 100% of breaching points vs 24% of normal (×4.1; 40 of 40)"
    )


def test_support_coverage_and_lift_floors() -> None:
    few = [LabelCounts("region", "eu", 4, 0), LabelCounts("region", "us", 0, 100)]
    assert rank_labels(few) == []  # 4 breaching points are too few
    even = [LabelCounts("zone", "a", 50, 50), LabelCounts("zone", "b", 50, 50)]
    assert rank_labels(even) == []  # as common among normal points: lift 1
    one_value = [LabelCounts("env", "prod", 100, 100)]
    assert rank_labels(one_value) == []
    many = [LabelCounts("user", f"u{i}", 10 if i == 0 else 0, 1) for i in range(MAX_VALUES + 1)]
    assert rank_labels(many) == []


def test_ranked_by_excess_share_then_surprise_at_most_five() -> None:
    counts = [LabelCounts("a", f"v{i}", 10 * (i + 1), 100) for i in range(8)]
    counts += [LabelCounts("a", "quiet", 0, 5000)]
    ranked = rank_labels(counts)
    assert len(ranked) == 5
    excess = [h.excess for h in ranked]
    assert excess == sorted(excess, reverse=True)
    assert ranked[0].value == "v7"
