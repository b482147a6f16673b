"""The grouped aggregates: run by run (`aggregate_runs`, the fast path over the hot
tier and over store reads) they equal numpy over the gathered points, for every
aggregation, groups of one or several series, counters with resets, and NaN."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitorx.store.queries import QueryAggregation
from monitorx.store.samples.grouped import SeriesRun, aggregate_runs

INTERVAL_US = 1_000_000
PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}


def numpy_answer(
    runs: list[SeriesRun], agg: QueryAggregation
) -> dict[int, list[tuple[int, float]]]:
    """The definition, point by point: per group and bucket."""
    points: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for run in runs:
        # A NaN point carries no value: a counter's increase is over the points
        # that have one.
        present = ~np.isnan(run.value)
        ts, value = run.ts_us[present], run.value[present]
        if agg is QueryAggregation.RATE:
            delta = np.diff(value)
            ts, value = ts[1:], np.where(delta < 0, value[1:], delta)
        for t, v in zip(ts.tolist(), value.tolist(), strict=True):
            points.setdefault((run.group, t // INTERVAL_US), []).append((t, v))
    found: dict[int, list[tuple[int, float]]] = {}
    for (group, bucket), items in sorted(points.items()):
        values = np.array([v for _, v in items])
        if agg is QueryAggregation.COUNT:
            result = float(values.size)
        elif agg in (QueryAggregation.SUM, QueryAggregation.RATE):
            result = float(values.sum())
        elif agg is QueryAggregation.MEAN:
            result = float(values.mean())
        elif agg is QueryAggregation.MIN:
            result = float(values.min())
        elif agg is QueryAggregation.MAX:
            result = float(values.max())
        elif agg is QueryAggregation.LAST:
            # Two series' points at the same instant: the one read later wins.
            result = sorted(items, key=lambda item: item[0])[-1][1]
        else:
            result = float(np.percentile(values, PERCENTILES[agg.value]))
        if agg is QueryAggregation.RATE:
            result /= INTERVAL_US / 1_000_000
        found.setdefault(group, []).append((bucket * INTERVAL_US, result))
    return found


@st.composite
def series_runs(draw: st.DrawFn) -> list[SeriesRun]:
    runs = []
    for _ in range(draw(st.integers(1, 6))):
        times = draw(st.lists(st.integers(0, 8_000_000), max_size=60, unique=True))
        values = draw(
            st.lists(
                st.floats(-1e6, 1e6) | st.just(float("nan")),
                min_size=len(times),
                max_size=len(times),
            )
        )
        runs.append(
            SeriesRun(
                draw(st.integers(0, 3)),
                np.array(sorted(times), np.int64),
                np.array(values, np.float64),
            )
        )
    return runs


@pytest.mark.parametrize("agg", list(QueryAggregation))
@settings(max_examples=60, deadline=None)
@given(runs=series_runs())
def test_run_by_run_equals_the_definition(runs: list[SeriesRun], agg: QueryAggregation) -> None:
    got = aggregate_runs(runs, agg, INTERVAL_US)
    want = numpy_answer(runs, agg)
    assert got.keys() == want.keys()
    for group, points in want.items():
        assert [t for t, _ in got[group]] == [t for t, _ in points]
        np.testing.assert_allclose(
            [v for _, v in got[group]], [v for _, v in points], rtol=1e-9, atol=1e-6
        )


def test_a_counter_reset_counts_the_new_value_as_the_increase() -> None:
    ts = np.arange(0, 6_000_000, 1_000_000, dtype=np.int64)
    run = SeriesRun(0, ts, np.array([10.0, 20.0, 30.0, 5.0, 15.0, 25.0]))
    got = aggregate_runs([run], QueryAggregation.RATE, 6 * INTERVAL_US)
    assert got == {0: [(0, (10 + 10 + 5 + 10 + 10) / 6)]}
