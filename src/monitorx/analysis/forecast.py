"""Trend forecasts: when will a series cross its threshold, if it keeps going?

Holt's linear exponential smoothing (statsmodels' ``ExponentialSmoothing`` with an
additive trend, no seasonality, parameters estimated by maximum likelihood) fitted
to the recent buckets of one series:

    level_t = α·y_t + (1 − α)·(level_{t−1} + trend_{t−1})
    trend_t = β·(level_t − level_{t−1}) + (1 − β)·trend_{t−1}
    ŷ_{t+h} = level_t + h·trend_t

The first step ``h`` (within the horizon) at which ``ŷ_{t+h}`` is strictly above the
threshold gives the crossing time. A series already above its threshold is the
threshold check's business, not a forecast's; a series with too few buckets has no
forecast (`TOO_LITTLE_DATA`), never a guess.

Pure: numpy and statsmodels.
"""

from __future__ import annotations

__all__ = [
    "MIN_POINTS",
    "Crossing",
    "NoCrossing",
    "forecast_crossing",
    "on_grid",
]

import math
import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Buckets a fit needs: with 5-minute buckets, an hour.
MIN_POINTS = 12


class NoCrossing(StrEnum):
    """Why there is no crossing to warn about."""

    TOO_LITTLE_DATA = "too_little_data"
    ALREADY_ABOVE = "already_above"  # the threshold check reports it
    NOT_WITHIN_HORIZON = "not_within_horizon"


@dataclass(frozen=True, slots=True)
class Crossing:
    """The forecast crosses ``threshold`` ``eta_s`` seconds after the end of the last
    bucket: ``crossing_time_s`` starts the first bucket forecast above it.

    ``level`` is the smoothed value at the last bucket, ``slope_per_h`` the trend per
    hour, ``forecast_at_crossing`` the forecast value of the first step above.
    """

    eta_s: float
    crossing_time_s: int
    threshold: float
    level: float
    slope_per_h: float
    forecast_at_crossing: float


def on_grid(times_s: I64, values: F64, step_s: int) -> tuple[I64, F64]:
    """The series on a regular grid of ``step_s`` (the bucket starts), gaps filled
    with the last value before them (a forecast needs evenly spaced points)."""
    if len(times_s) == 0:
        return times_s, values
    grid = np.arange(int(times_s[0]), int(times_s[-1]) + 1, step_s, dtype=np.int64)
    index = np.searchsorted(times_s, grid, side="right") - 1
    return grid, values[index]


def forecast_crossing(
    times_s: I64, values: F64, threshold: float, horizon_s: float, step_s: int
) -> Crossing | NoCrossing:
    """When a series on a ``step_s`` grid (`on_grid`) crosses ``threshold`` within
    ``horizon_s`` after the end of its last bucket, by Holt's linear trend."""
    if len(values) < MIN_POINTS:
        return NoCrossing.TOO_LITTLE_DATA
    if values[-1] > threshold:
        return NoCrossing.ALREADY_ABOVE
    steps = math.floor(horizon_s / step_s) + 1
    # Imported on first use: statsmodels takes ~0.3 s and tens of MiB to load.
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        # A short or flat series makes the optimizer warn that it did not converge;
        # the estimated parameters are still the best it found and are used.
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            np.asarray(values, dtype=np.float64), trend="add", initialization_method="estimated"
        )
        fit = model.fit()
        path = np.asarray(fit.forecast(steps), dtype=np.float64)
    level = float(fit.level[-1])
    trend = float(fit.trend[-1])
    if level > threshold:
        return NoCrossing.ALREADY_ABOVE
    above = np.flatnonzero(path > threshold)
    if above.size == 0:
        return NoCrossing.NOT_WITHIN_HORIZON
    h = int(above[0]) + 1
    return Crossing(
        eta_s=float((h - 1) * step_s),
        crossing_time_s=int(times_s[-1]) + h * step_s,
        threshold=threshold,
        level=level,
        slope_per_h=trend * 3600 / step_s,
        forecast_at_crossing=float(path[h - 1]),
    )
