"""Streaming concept drift: each of river's detectors finds a known change point after
it happens, and stays quiet on a stationary stream of the same length."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from monitorx.analysis.concept_drift import (
    DETECTOR_DEFAULTS,
    DriftDetectorName,
    StreamMetric,
    StreamMonitor,
    parse_concept_drift_config,
)
from monitorx.core import ValidationError

HALF = 2000  # points before and after the change
CHANGE = HALF

# river's defaults, except: KSWIN samples its reference at random (a seed makes the
# test repeatable), and DDM, which with river's defaults (warm_start 30, drift at
# 3 s) flags stationary 10 % error streams of this length in about half of the
# seeds: docs/anomaly.md advises warm_start 1000 and drift_threshold 4.
PARAMS: dict[str, dict[str, Any]] = {
    "adwin": {},
    "ddm": {"warm_start": 1000, "drift_threshold": 4.0},
    "page_hinkley": {},
    "kswin": {"seed": 7},
}


def _errors(seed: int, before: float, after: float) -> list[float]:
    rng = np.random.default_rng(seed)
    stream = np.concatenate([rng.random(HALF) < before, rng.random(HALF) < after])
    return stream.astype(float).tolist()


def _monitor(detector: str, **body: Any) -> StreamMonitor:
    config = parse_concept_drift_config({"detector": detector, "params": PARAMS[detector]} | body)
    return StreamMonitor(config)


def _times(n: int) -> list[int]:
    return [1_790_000_000_000_000 + i * 1_000_000 for i in range(n)]


@pytest.mark.parametrize("detector", list(PARAMS))
@pytest.mark.parametrize("seed", [0, 5, 6])
def test_an_error_rate_change_is_detected_after_it(detector: str, seed: int) -> None:
    stream = _errors(seed, 0.1, 0.5)  # the error rate jumps from 10 % to 50 %
    found = _monitor(detector).feed(stream, _times(len(stream)))
    assert found, f"{detector} missed the change"
    first = found[0]
    assert CHANGE <= first.index < CHANGE + 300
    assert first.ts_us == _times(len(stream))[first.index]
    assert first.mean_before == pytest.approx(0.1, abs=0.03)
    assert first.mean_recent > first.mean_before + 0.05


@pytest.mark.parametrize("detector", list(PARAMS))
@pytest.mark.parametrize("seed", [0, 5, 6])
def test_a_stationary_error_stream_of_the_same_length_raises_nothing(
    detector: str, seed: int
) -> None:
    stream = _errors(seed, 0.1, 0.1)
    assert _monitor(detector).feed(stream, _times(len(stream))) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adwin_finds_a_latency_shift_and_not_noise(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shifted = np.concatenate([rng.normal(100, 10, HALF), rng.normal(130, 10, HALF)]).tolist()
    steady = rng.normal(100, 10, 2 * HALF).tolist()
    (found,) = _monitor("adwin", metric="latency").feed(shifted, _times(2 * HALF))
    assert CHANGE <= found.index < CHANGE + 100
    assert found.mean_before == pytest.approx(100, abs=2)
    assert _monitor("adwin", metric="latency").feed(steady, _times(2 * HALF)) == []


def test_the_index_counts_from_when_monitoring_began_across_feeds() -> None:
    stream = _errors(0, 0.1, 0.5)
    times = _times(len(stream))
    monitor = _monitor("adwin")
    assert monitor.feed(stream[:1500], times[:1500]) == []
    (found,) = monitor.feed(stream[1500:], times[1500:])
    assert found.index >= CHANGE and monitor.seen == len(stream)


def test_absent_params_take_rivers_defaults() -> None:
    config = parse_concept_drift_config({"detector": "page_hinkley"})
    assert config.metric is StreamMetric.ERROR
    assert config.params == {
        "min_instances": 30,
        "delta": 0.005,
        "threshold": 50.0,
        "alpha": 0.9999,
        "mode": "both",
    }
    assert DETECTOR_DEFAULTS[DriftDetectorName.ADWIN]["delta"] == 0.002
    assert DETECTOR_DEFAULTS[DriftDetectorName.KSWIN]["alpha"] == 0.005


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"detector"}),
        ({"detector": "cusum"}, {"detector"}),
        ({"detector": "adwin", "metric": "accuracy"}, {"metric"}),
        ({"detector": "ddm", "metric": "latency"}, {"metric"}),
        ({"detector": "adwin", "params": {"delta": 0}}, {"params.delta"}),
        ({"detector": "adwin", "params": {"delta": "small"}}, {"params.delta"}),
        ({"detector": "adwin", "params": {"clock": 2.5}}, {"params.clock"}),
        ({"detector": "adwin", "params": {"window": 3}}, {"params.window"}),
        ({"detector": "kswin", "params": {"stat_size": 100}}, {"params.stat_size"}),
        ({"detector": "page_hinkley", "params": {"mode": "sideways"}}, {"params.mode"}),
        ({"detector": "adwin", "params": []}, {"params"}),
        ({"detector": "adwin", "colour": "red"}, {"colour"}),
    ],
)
def test_bad_configs_are_refused_naming_each_field(body: Any, fields: set[str]) -> None:
    with pytest.raises(ValidationError) as info:
        parse_concept_drift_config(body)
    assert {e.field for e in info.value.errors} == fields
