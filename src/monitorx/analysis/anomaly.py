"""Anomaly detection on a metric series: baselines, and the points that leave them.

Pure functions over numpy arrays of one series (bucket start times in seconds, one
value per bucket, oldest first); the scan that reads the store and raises alerts
lives in ``monitorx.evaluation.anomaly_scan``.

Each detector gives, for every point it is asked about, a *baseline*: an expected
centre and a scale, computed only from the points before it. A point is anomalous
when its score ``z = (value − centre) / scale`` has ``|z|`` at or above the z
threshold; the expected range is ``centre ± threshold · scale``. Detectors (see
docs/anomaly.md for the formulas):

- ``robust_z``: median and MAD (×1.4826, the normal-consistent factor) of the
  previous ``ROBUST_WINDOW`` points; a spike cannot move a median.
- ``ewma``: exponentially weighted mean and variance (smoothing ``EWMA_ALPHA``),
  after a warm-up of ``EWMA_WARMUP`` points.
- ``seasonal``: median and MAD of the same time of day over the previous days (a
  daily baseline, once ``SEASONAL_MIN_DAYS`` days of history exist) or the same
  time of week over the previous weeks (weekly, once ``SEASONAL_MIN_WEEKS`` weeks
  exist), taking the points within ``SEASONAL_NEIGHBOURHOOD_S`` of that time.

"Too little data" is an explicit state: such points are not ready and never flagged.
The scale is floored (``max(scale, min_scale, RELATIVE_SCALE_FLOOR · |centre|)``) so
that a flat series does not turn its first wobble into an anomaly.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_DETECTORS",
    "SENSITIVITY_Z",
    "Anomaly",
    "AnomalyDetector",
    "Baseline",
    "DetectorName",
    "EWMADetector",
    "RobustZDetector",
    "SeasonalDetector",
    "build_detectors",
    "find_anomalies",
]

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

from monitorx.core import ValidationError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# The MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826
# …and its mean absolute deviation times this (sqrt(pi / 2)).
MEAN_AD_TO_SIGMA = 1.2533
# robust_z: how many previous points form the baseline, and how many it needs.
ROBUST_WINDOW = 60
ROBUST_MIN_POINTS = 30
# ewma: weight of the newest point (a span of ~40 points), and the warm-up length.
EWMA_ALPHA = 0.05
EWMA_WARMUP = 30
# seasonal: the periods, the history each needs, and the neighbourhood of a time.
DAY_S = 86_400
WEEK_S = 7 * DAY_S
SEASONAL_MIN_DAYS = 3
SEASONAL_MIN_WEEKS = 2
SEASONAL_MAX_CYCLES = 7
SEASONAL_NEIGHBOURHOOD_S = 300
SEASONAL_MIN_POINTS = 10
# The |z| threshold of each sensitivity (setting ``anomaly_sensitivity``).
SENSITIVITY_Z = {"low": 10.0, "medium": 8.0, "high": 6.0}
# The scale is never below this share of the centre's magnitude (2 %).
RELATIVE_SCALE_FLOOR = 0.02


class DetectorName(StrEnum):
    """Stable names of the detectors (settings and the ``detector`` alert label)."""

    ROBUST_Z = "robust_z"
    EWMA = "ewma"
    SEASONAL = "seasonal"


DEFAULT_DETECTORS = (DetectorName.ROBUST_Z, DetectorName.EWMA, DetectorName.SEASONAL)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Expectations for the points ``start..n-1`` of a series: one entry per point.

    ``ready[i]`` is False where the detector had too little history; ``centre`` and
    ``scale`` are then 0 and must not be read. ``method`` names what each entry
    used ("robust z", "EWMA", "seasonal daily", "seasonal weekly").
    """

    centre: F64
    scale: F64
    ready: Mask
    method: list[str]


class AnomalyDetector(Protocol):
    """Gives a baseline for each point from the points before it."""

    name: DetectorName

    def baseline(self, times_s: I64, values: F64, start: int) -> Baseline:
        """Expectations for ``values[start:]``; ``times_s`` are the bucket starts."""
        ...


def _empty(count: int, method: str) -> tuple[F64, F64, Mask, list[str]]:
    return np.zeros(count), np.zeros(count), np.zeros(count, bool), [method] * count


def _median_mad(sample: F64) -> tuple[float, float]:
    """The median, and the MAD as a standard deviation — or, where more than half the
    sample sits on the median (a sparse series: mostly zero errors) and the MAD is 0,
    the mean absolute deviation from the median as one."""
    centre = float(np.median(sample))
    deviation = np.abs(sample - centre)
    mad = float(np.median(deviation))
    if mad > 0:
        return centre, MAD_TO_SIGMA * mad
    return centre, MEAN_AD_TO_SIGMA * float(np.mean(deviation))


class RobustZDetector:
    """Rolling median and MAD of the previous ``window`` points."""

    name = DetectorName.ROBUST_Z

    def __init__(self, window: int = ROBUST_WINDOW, min_points: int = ROBUST_MIN_POINTS) -> None:
        self.window = window
        self.min_points = min_points

    def baseline(self, times_s: I64, values: F64, start: int) -> Baseline:
        count = len(values) - start
        centre, scale, ready, method = _empty(count, "robust z")
        for k in range(count):
            i = start + k
            past = values[max(0, i - self.window) : i]
            if len(past) >= self.min_points:
                centre[k], scale[k] = _median_mad(past)
                ready[k] = True
        return Baseline(centre, scale, ready, method)


class EWMADetector:
    """Exponentially weighted moving mean and variance (West's recursion):

    ``d = x − μ``, ``μ ← μ + α·d``, ``σ² ← (1 − α)·(σ² + α·d²)``, seeded with the
    mean and variance of the first ``warmup`` points; a point is scored against the
    mean and variance before it is added.
    """

    name = DetectorName.EWMA

    def __init__(self, alpha: float = EWMA_ALPHA, warmup: int = EWMA_WARMUP) -> None:
        self.alpha = alpha
        self.warmup = warmup

    def baseline(self, times_s: I64, values: F64, start: int) -> Baseline:
        count = len(values) - start
        centre, scale, ready, method = _empty(count, "EWMA")
        w, a = self.warmup, self.alpha
        if len(values) <= w:
            return Baseline(centre, scale, ready, method)
        # The warm-up points seed the mean and variance; the recursions run after them
        # as first-order linear filters (lfilter: y_k = b·u_k + (1 − α)·y_{k−1}).
        mean0, variance0 = float(np.mean(values[:w])), float(np.var(values[:w]))
        tail = values[w:]
        # Imported on first use: scipy.signal takes ~0.4 s and tens of MiB to load,
        # which an idle server need not pay (docs/performance.md, footprint).
        from scipy.signal import lfilter

        means, _ = lfilter([a], [1.0, a - 1.0], tail, zi=[(1 - a) * mean0])
        mean_before = np.concatenate([[mean0], means[:-1]])  # μ before each point
        delta = tail - mean_before
        variances, _ = lfilter([(1 - a) * a], [1.0, a - 1.0], delta**2, zi=[(1 - a) * variance0])
        variance_before = np.concatenate([[variance0], variances[:-1]])
        first = max(start, w)
        centre[first - start :] = mean_before[first - w :]
        scale[first - start :] = np.sqrt(variance_before[first - w :])
        ready[first - start :] = True
        return Baseline(centre, scale, ready, method)


class SeasonalDetector:
    """The seasonal profile, corrected by the recent level: robust z of the residuals.

    A point's profile is the median of the points at the same time of day (or of
    week) over previous cycles: weekly once the history before it spans
    ``SEASONAL_MIN_WEEKS`` weeks, else daily once it spans ``SEASONAL_MIN_DAYS``
    days; at most ``SEASONAL_MAX_CYCLES`` cycles back, each contributing the points
    within ``neighbourhood_s`` of the time. The residual is value − profile; the
    baseline is profile + the median of the previous ``ROBUST_WINDOW`` residuals, the
    scale 1.4826 · their MAD. So a day that runs at another level than the profile
    (a weekend, before weekly history exists) moves the baseline with it, while a
    point that breaks the day's shape (a spike, a missing nightly batch) stands out.
    """

    name = DetectorName.SEASONAL

    def __init__(self, neighbourhood_s: int = SEASONAL_NEIGHBOURHOOD_S) -> None:
        self.neighbourhood_s = neighbourhood_s

    def _profile(self, times_s: I64, values: F64, i: int) -> tuple[float, str] | None:
        """The seasonal expectation of point ``i`` and what it used, or None."""
        span = int(times_s[i]) - int(times_s[0])
        if span >= SEASONAL_MIN_WEEKS * WEEK_S:
            period, label = WEEK_S, "seasonal weekly"
        elif span >= SEASONAL_MIN_DAYS * DAY_S:
            period, label = DAY_S, "seasonal daily"
        else:
            return None
        cycles = min(SEASONAL_MAX_CYCLES, span // period)
        targets = int(times_s[i]) - period * np.arange(1, cycles + 1, dtype=np.int64)
        lows = np.searchsorted(times_s, targets - self.neighbourhood_s, "left")
        highs = np.searchsorted(times_s, targets + self.neighbourhood_s, "right")
        parts = [values[lo:hi] for lo, hi in zip(lows, highs, strict=True) if hi > lo]
        if sum(len(p) for p in parts) < SEASONAL_MIN_POINTS:
            return None
        return float(np.median(np.concatenate(parts))), label

    def baseline(self, times_s: I64, values: F64, start: int) -> Baseline:
        count = len(values) - start
        centre, scale, ready, method = _empty(count, "seasonal")
        first = max(0, start - ROBUST_WINDOW)
        profile = np.zeros(len(values) - first)
        known = np.zeros(len(values) - first, bool)
        labels = [""] * len(profile)
        for j in range(first, len(values)):
            found = self._profile(times_s, values, j)
            if found is not None:
                profile[j - first], labels[j - first] = found
                known[j - first] = True
        residual = values[first:] - profile
        for k in range(count):
            at = start + k - first
            if not known[at]:
                continue
            window = slice(max(0, at - ROBUST_WINDOW), at)
            past = residual[window][known[window]]
            if len(past) < ROBUST_MIN_POINTS:
                continue
            offset, spread = _median_mad(past)
            centre[k], scale[k] = profile[at] + offset, spread
            ready[k], method[k] = True, labels[at]
        return Baseline(centre, scale, ready, method)


# The registry: every detector a setting may name, in one explicit list.
_DETECTORS: dict[DetectorName, type[RobustZDetector | EWMADetector | SeasonalDetector]] = {
    DetectorName.ROBUST_Z: RobustZDetector,
    DetectorName.EWMA: EWMADetector,
    DetectorName.SEASONAL: SeasonalDetector,
}


def build_detectors(names: Sequence[str]) -> list[AnomalyDetector]:
    """The detectors ``names`` lists, with their defaults; an unknown name is refused."""
    detectors: list[AnomalyDetector] = []
    for name in names:
        try:
            detectors.append(_DETECTORS[DetectorName(name)]())
        except ValueError:
            known = ", ".join(d.value for d in DetectorName)
            raise ValidationError(
                f"unknown anomaly detector {name!r} (known: {known})", "anomaly_detectors"
            ) from None
    return detectors


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One point outside its expected range ``[low, high]`` by one detector."""

    index: int
    time_s: int
    value: float
    detector: DetectorName
    method: str
    centre: float
    low: float
    high: float
    z: float


def find_anomalies(
    times_s: I64,
    values: F64,
    start: int,
    detectors: Sequence[AnomalyDetector],
    z_threshold: float,
    min_scale: float = 0.0,
) -> list[Anomaly]:
    """The anomalies among ``values[start:]``, by time, then in detector order.

    ``min_scale`` is the smallest scale that means anything for this series (its
    unit's resolution: 1 ms of latency, half a percentage point of error rate).
    """
    if z_threshold <= 0:
        raise ValidationError("the z threshold must be positive", "anomaly_z_threshold")
    found: list[Anomaly] = []
    observed = values[start:]
    for detector in detectors:
        base = detector.baseline(times_s, values, start)
        scale = np.maximum(
            np.maximum(base.scale, min_scale), RELATIVE_SCALE_FLOOR * np.abs(base.centre)
        )
        positive = base.ready & (scale > 0)
        z = np.zeros(len(observed))
        np.divide(observed - base.centre, scale, out=z, where=positive)
        flagged: list[int] = np.flatnonzero(positive & (np.abs(z) >= z_threshold)).tolist()
        for k in flagged:
            found.append(
                Anomaly(
                    index=start + k,
                    time_s=int(times_s[start + k]),
                    value=float(observed[k]),
                    detector=detector.name,
                    method=base.method[k],
                    centre=float(base.centre[k]),
                    low=float(base.centre[k] - z_threshold * scale[k]),
                    high=float(base.centre[k] + z_threshold * scale[k]),
                    z=float(z[k]),
                )
            )
    found.sort(key=lambda a: a.index)
    return found
