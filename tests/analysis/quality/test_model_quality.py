"""Model quality metrics against scikit-learn and numpy computed directly."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn import metrics as skm

from monitorx.analysis.quality.model_quality import (
    Task,
    classification_metrics,
    infer_task,
    quality_by_window,
    regression_metrics,
)

RNG_SEED = 7


def test_binary_probabilities_give_every_classification_metric() -> None:
    rng = np.random.default_rng(RNG_SEED)
    labels = rng.integers(0, 2, 500)
    scores = np.clip(labels * 0.6 + rng.normal(0.2, 0.25, 500), 0.001, 0.999)
    got = classification_metrics(labels, scores)
    hard = (scores >= 0.5).astype(int)
    assert got["accuracy"] == pytest.approx(np.mean(hard == labels))
    assert got["precision"] == pytest.approx(skm.precision_score(labels, hard))
    assert got["recall"] == pytest.approx(skm.recall_score(labels, hard))
    assert got["f1"] == pytest.approx(skm.f1_score(labels, hard))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, scores))
    expected_loss = -np.mean(labels * np.log(scores) + (1 - labels) * np.log(1 - scores))
    assert got["log_loss"] == pytest.approx(expected_loss)


def test_multiclass_string_classes_use_macro_averaging() -> None:
    rng = np.random.default_rng(RNG_SEED)
    classes = np.array(["cat", "dog", "bird"], dtype=object)
    labels = classes[rng.integers(0, 3, 300)]
    predictions = np.where(rng.random(300) < 0.7, labels, classes[rng.integers(0, 3, 300)])
    got = classification_metrics(labels, predictions)
    assert got["accuracy"] == pytest.approx(np.mean(labels == predictions))
    for name, fn in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        assert got[name] == pytest.approx(fn(labels, predictions, average="macro"))
    # Classes only, no scores: the score-based metrics are undefined, not NaN.
    assert got["roc_auc"] is None
    assert got["log_loss"] is None


def test_class_never_predicted_counts_as_zero_precision_without_error() -> None:
    got = classification_metrics(np.array(["a", "b", "c"]), np.array(["a", "a", "a"]))
    assert got["accuracy"] == pytest.approx(1 / 3)
    assert got["precision"] == pytest.approx((1 / 3) / 3)


def test_one_class_in_window_leaves_roc_auc_undefined() -> None:
    got = classification_metrics(np.array([1, 1, 1]), np.array([0.9, 0.8, 0.3]))
    assert got["roc_auc"] is None
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.3])))


def test_regression_metrics_equal_numpy() -> None:
    rng = np.random.default_rng(RNG_SEED)
    labels = rng.normal(50, 10, 400)
    predictions = labels + rng.normal(0, 3, 400)
    got = regression_metrics(labels, predictions)
    error = predictions - labels
    assert got["mae"] == pytest.approx(np.mean(np.abs(error)))
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)))
    assert got["mape"] == pytest.approx(np.mean(np.abs(error) / np.abs(labels)))
    ss_res = np.sum(error**2)
    ss_tot = np.sum((labels - labels.mean()) ** 2)
    assert got["r2"] == pytest.approx(1 - ss_res / ss_tot)


def test_single_row_has_no_r2() -> None:
    got = regression_metrics(np.array([2.0]), np.array([3.0]))
    assert got["mae"] == 1.0
    assert got["r2"] is None


def test_task_is_inferred_from_labels() -> None:
    assert infer_task(np.array(["yes", "no"], dtype=object)) is Task.CLASSIFICATION
    assert infer_task(np.array([0, 1, 1, 0])) is Task.CLASSIFICATION
    assert infer_task(np.array([True, False])) is Task.CLASSIFICATION
    assert infer_task(np.array([1.5, 2.25, 3.0])) is Task.REGRESSION
    assert infer_task(np.arange(100, dtype=float)) is Task.REGRESSION


def test_windows_start_at_multiples_of_the_interval_and_skip_empty_ones() -> None:
    base_us = int(datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp() * 1_000_000)
    minute_us = 60_000_000
    ts = np.array([base_us + 5, base_us + 10, base_us + 2 * minute_us + 1], dtype=np.int64)
    labels = np.array([1.0, 2.0, 10.0])
    predictions = np.array([2.0, 2.0, 7.0])
    windows = quality_by_window(ts, labels, predictions, 60, Task.REGRESSION)
    assert [w.start for w in windows] == [
        datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 12, 2, tzinfo=UTC),
    ]
    assert [w.rows for w in windows] == [2, 1]
    assert windows[0].metrics["mae"] == pytest.approx(0.5)
    assert windows[1].metrics["mae"] == pytest.approx(3.0)
