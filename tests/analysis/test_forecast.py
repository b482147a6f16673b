"""Trend forecasts: a steady ramp warns before it crosses its threshold, with an ETA
that matches the ramp; flat, falling and short series do not warn."""

from __future__ import annotations

import numpy as np
import pytest

from monitorx.analysis.forecast import (
    MIN_POINTS,
    Crossing,
    NoCrossing,
    forecast_crossing,
    on_grid,
)

STEP_S = 300
HOUR = 3600
T0 = 1_795_000_000 // STEP_S * STEP_S


def _buckets(hours: float) -> np.ndarray:
    return T0 + STEP_S * np.arange(int(hours * HOUR / STEP_S), dtype=np.int64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_linear_ramp_warns_before_the_crossing_with_a_sensible_eta(seed: int) -> None:
    rng = np.random.default_rng(seed)
    times = _buckets(6)
    elapsed_h = (times - times[0] + STEP_S) / HOUR
    # GPU memory grows 1,000 MB an hour and reaches 18,000 MB at the end of the window:
    # 20,000 MB two hours later.
    values = 12_000 + 1_000 * elapsed_h + rng.normal(0, 50, len(times))
    found = forecast_crossing(times, values, 20_000, 6 * HOUR, STEP_S)
    assert isinstance(found, Crossing)
    assert found.eta_s == pytest.approx(2 * HOUR, abs=15 * 60)
    assert found.slope_per_h == pytest.approx(1_000, rel=0.1)
    assert found.level == pytest.approx(18_000, abs=150)
    assert found.forecast_at_crossing > 20_000
    assert found.crossing_time_s == times[-1] + STEP_S + found.eta_s


def test_a_crossing_past_the_horizon_is_not_warned_of() -> None:
    times = _buckets(6)
    values = 12_000 + 1_000 * (times - times[0]) / HOUR
    assert forecast_crossing(times, values, 20_000, HOUR, STEP_S) is NoCrossing.NOT_WITHIN_HORIZON


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_and_falling_series_never_warn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    times = _buckets(6)
    flat = 15_000 + rng.normal(0, 300, len(times))
    falling = 19_000 - 500 * (times - times[0]) / HOUR + rng.normal(0, 50, len(times))
    for values in (flat, falling):
        found = forecast_crossing(times, values, 20_000, 6 * HOUR, STEP_S)
        assert found is NoCrossing.NOT_WITHIN_HORIZON


def test_too_little_data_and_already_above_are_explicit() -> None:
    times = _buckets(6)
    values = np.linspace(10_000, 15_000, len(times))
    short = forecast_crossing(times[: MIN_POINTS - 1], values[: MIN_POINTS - 1], 20_000, HOUR, 300)
    assert short is NoCrossing.TOO_LITTLE_DATA
    assert forecast_crossing(times, values, 12_000, HOUR, STEP_S) is NoCrossing.ALREADY_ABOVE


def test_gaps_are_filled_with_the_last_value_on_a_regular_grid() -> None:
    times = np.array([T0, T0 + 300, T0 + 1200], dtype=np.int64)
    grid, values = on_grid(times, np.array([1.0, 2.0, 5.0]), STEP_S)
    assert grid.tolist() == [T0, T0 + 300, T0 + 600, T0 + 900, T0 + 1200]
    assert values.tolist() == [1.0, 2.0, 2.0, 2.0, 5.0]
