"""Anomaly detectors on synthetic per-minute series: planted spikes and level shifts
are found, clean (seasonal, noisy, sparse) series raise nothing."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from monitorx.analysis.anomaly import (
    DAY_S,
    DEFAULT_DETECTORS,
    SENSITIVITY_Z,
    DetectorName,
    EWMADetector,
    RobustZDetector,
    SeasonalDetector,
    build_detectors,
    find_anomalies,
)
from monitorx.core import ValidationError

MINUTE = 60
WEEK_MINUTES = 7 * 1440
T0 = 1_795_000_000 // DAY_S * DAY_S  # a midnight
Z = SENSITIVITY_Z["medium"]
ALL = build_detectors([d.value for d in DEFAULT_DETECTORS])

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _minutes(n: int) -> I64:
    return T0 + MINUTE * np.arange(n, dtype=np.int64)


def _daily_latency(n: int, seed: int) -> F64:
    """Latency that swings ±40 ms over the day around 100 ms, with 5 ms of noise."""
    rng = np.random.default_rng(seed)
    day = (_minutes(n) % DAY_S) / DAY_S
    return 100 + 40 * np.sin(2 * np.pi * day) + rng.normal(0, 5, n)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_clean_seasonal_week_raises_nothing(seed: int) -> None:
    values = _daily_latency(WEEK_MINUTES, seed)
    assert find_anomalies(_minutes(WEEK_MINUTES), values, 0, ALL, Z, 1.0) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_clean_counts_and_sparse_error_rates_raise_nothing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    day = (_minutes(WEEK_MINUTES) % DAY_S) / DAY_S
    throughput = rng.poisson(50 + 30 * np.sin(2 * np.pi * day)).astype(np.float64)
    # 50 requests a minute, 2 % of them failing: mostly 0, 1 or 2 errors a minute.
    error_rate = rng.binomial(50, 0.02, WEEK_MINUTES) / 50
    times = _minutes(WEEK_MINUTES)
    assert find_anomalies(times, throughput, 0, ALL, Z, 1.0) == []
    assert find_anomalies(times, error_rate, 0, ALL, Z, 0.005) == []


def test_a_planted_spike_is_found_by_every_detector_at_its_minute() -> None:
    n = 4 * 1440
    values = _daily_latency(n, 7)
    spike = n - 30
    values[spike] = 420.0
    found = find_anomalies(_minutes(n), values, 0, ALL, Z, 1.0)
    assert {a.index for a in found} == {spike}
    assert {a.detector for a in found} == set(DetectorName)
    robust = next(a for a in found if a.detector is DetectorName.ROBUST_Z)
    assert robust.value == 420.0
    assert robust.z > Z
    assert robust.low < robust.centre < robust.high < 420.0
    # The baseline is where the series was: ~100 ± 40 ms.
    assert 55 < robust.centre < 145
    seasonal = next(a for a in found if a.detector is DetectorName.SEASONAL)
    assert seasonal.method == "seasonal daily"


def test_a_planted_level_shift_is_found_where_it_starts() -> None:
    rng = np.random.default_rng(3)
    n = 600
    values = 40 + rng.normal(0, 2, n)
    shift = 400
    values[shift:] += 30  # CPU jumps from 40 % to 70 % and stays
    found = find_anomalies(_minutes(n), values, 0, ALL, Z, 1.0)
    assert found, "the shift went unnoticed"
    assert min(a.index for a in found) == shift
    assert all(a.index >= shift for a in found)
    assert all(a.value > a.high for a in found)
    # The rolling baselines absorb the new level: the anomaly does not last forever.
    assert max(a.index for a in found) < shift + 120


def test_a_drop_is_reported_below_the_expected_range() -> None:
    rng = np.random.default_rng(4)
    values = rng.poisson(200, 300).astype(np.float64)
    values[-1] = 20.0  # throughput collapses
    (robust, ewma) = find_anomalies(_minutes(300), values, 290, ALL, Z, 1.0)
    assert robust.detector is DetectorName.ROBUST_Z and ewma.detector is DetectorName.EWMA
    assert robust.z < -Z and robust.value < robust.low


def test_only_points_from_start_are_scored() -> None:
    values = _daily_latency(600, 5)
    values[100] = 900.0
    values[550] = 900.0
    found = find_anomalies(_minutes(600), values, 500, ALL, Z, 1.0)
    assert {a.index for a in found} == {550}


def test_too_little_history_is_not_ready_and_flags_nothing() -> None:
    values = np.array([10.0] * 20 + [1000.0])
    times = _minutes(21)
    assert find_anomalies(times, values, 0, ALL, Z, 1.0) == []
    for detector in (RobustZDetector(), EWMADetector(), SeasonalDetector()):
        assert not detector.baseline(times, values, 0).ready.any()


def test_seasonal_baseline_turns_weekly_after_two_weeks() -> None:
    n = 15 * 1440
    values = _daily_latency(n, 6)
    base = SeasonalDetector().baseline(_minutes(n), values, 0)
    assert base.method[2 * 1440] == "seasonal"  # two days: not enough
    assert not base.ready[2 * 1440]
    assert base.method[4 * 1440] == "seasonal daily"
    assert base.method[14 * 1440 + 10] == "seasonal weekly"
    assert base.ready[14 * 1440 + 10]


def test_a_flat_series_is_not_alarmed_by_its_first_wobble() -> None:
    values = np.full(200, 100.0)
    values[-1] = 101.0  # 1 %: inside the relative scale floor
    assert find_anomalies(_minutes(200), values, 0, ALL, Z, 0.0) == []


def test_the_sensitivity_decides_what_is_anomalous() -> None:
    rng = np.random.default_rng(8)
    values = 100 + rng.normal(0, 5, 300)
    values[-1] = 100 + 7 * 5  # seven standard deviations
    detectors = [RobustZDetector()]
    assert find_anomalies(_minutes(300), values, 299, detectors, SENSITIVITY_Z["high"], 1.0)
    assert not find_anomalies(_minutes(300), values, 299, detectors, SENSITIVITY_Z["low"], 1.0)


def test_unknown_detector_names_and_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        build_detectors(["robust_z", "prophet"])
    assert info.value.errors[0].field == "anomaly_detectors"
    assert "prophet" in str(info.value)
    with pytest.raises(ValidationError):
        find_anomalies(_minutes(3), np.zeros(3), 0, ALL, 0.0)


def test_the_ewma_baseline_is_wests_recursion_point_by_point() -> None:
    rng = np.random.default_rng(9)
    values = 100 + rng.normal(0, 5, 400)
    values[250:] += 40
    alpha, warmup = 0.05, 30
    base = EWMADetector(alpha, warmup).baseline(_minutes(400), values, 100)
    mean, variance = float(np.mean(values[:warmup])), float(np.var(values[:warmup]))
    for i in range(warmup, 400):
        if i >= 100:
            assert base.centre[i - 100] == pytest.approx(mean, rel=1e-9)
            assert base.scale[i - 100] == pytest.approx(np.sqrt(variance), rel=1e-9)
        delta = values[i] - mean
        mean += alpha * delta
        variance = (1 - alpha) * (variance + alpha * delta * delta)
    assert base.ready.all()


def _weekday_weekend_minutes(n: int) -> tuple[I64, npt.NDArray[np.bool_], F64]:
    times = _minutes(n)
    weekday = ((times // DAY_S) + 3) % 7  # 1970-01-01 was a Thursday: 0 is Monday
    day = (times % DAY_S) / DAY_S
    return times, weekday >= 5, day


@pytest.mark.parametrize("seed", [1, 2])
def test_seasonal_follows_a_weekend_that_runs_at_another_level(seed: int) -> None:
    """A first week whose weekend has 40 % less traffic: the daily profile (weekdays)
    is wrong on Saturday by a level, which the residuals' median absorbs."""
    rng = np.random.default_rng(seed)
    times, weekend, day = _weekday_weekend_minutes(WEEK_MINUTES)
    rate = (200 + 120 * np.sin(2 * np.pi * day)) * np.where(weekend, 0.6, 1.0)
    throughput = rng.poisson(rate).astype(np.float64)
    found = find_anomalies(times, throughput, 0, [SeasonalDetector()], Z, 1.0)
    assert len(found) <= 2  # a point or two at the abrupt midnight step, not the weekend


def test_seasonal_finds_a_missing_nightly_batch_that_robust_z_cannot() -> None:
    """Latency jumps by 150 ms from 02:00 to 02:10 every night (a batch job); on the
    last night it does not: only the seasonal baseline expects the jump."""
    rng = np.random.default_rng(3)
    times = _minutes(WEEK_MINUTES)
    values = 100 + rng.normal(0, 5, WEEK_MINUTES)
    nightly = (times % DAY_S >= 2 * 3600) & (times % DAY_S < 2 * 3600 + 600)
    last_night = nightly & (times >= T0 + 6 * DAY_S)
    values[nightly & ~last_night] += 150
    last_day = int(np.flatnonzero(times >= T0 + 6 * DAY_S)[0])
    found = find_anomalies(times, values, last_day, [SeasonalDetector()], Z, 1.0)
    assert {a.index for a in found} == set(np.flatnonzero(last_night).tolist())
    assert all(a.value < a.low and a.method == "seasonal daily" for a in found)
    assert not find_anomalies(times, values, last_day, [RobustZDetector()], Z, 1.0)
