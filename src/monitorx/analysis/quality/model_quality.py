"""Model quality from labels: classification and regression metrics per time window.

Pure functions over columns (labels, predictions, timestamps), computed with
scikit-learn so the numbers are the ones users get from it:

- classification: ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``,
  ``log_loss``. A prediction is either a class (a string or a number) or, for a
  binary task with labels 0/1, the probability of class 1; such a score is turned
  into a class at `DECISION_THRESHOLD`. Averaging: ``binary`` (class 1 is the
  positive class) when the labels and predicted classes are all 0 or 1, else
  ``macro`` (the unweighted mean over every class seen in labels or predictions,
  sklearn's ``average="macro"``); a class never predicted counts as precision 0
  (``zero_division=0``) rather than an error. ``roc_auc`` and ``log_loss`` need
  scores, so they are only computed for a binary task whose predictions are
  probabilities, and ``roc_auc`` only when the window holds both classes.
- regression: ``mae``, ``rmse``, ``mape`` (sklearn's: ``|y - ŷ| / max(|y|, ε)``
  averaged, a fraction, not a percentage), ``r2`` (needs two rows).

"Too little data" is an explicit ``None``, never NaN: a metric that is undefined
for a window (a single row for R², one class for ROC AUC) is ``None``.
"""

from __future__ import annotations

__all__ = [
    "CLASSIFICATION_METRICS",
    "DECISION_THRESHOLD",
    "REGRESSION_METRICS",
    "QualityWindow",
    "Task",
    "classification_metrics",
    "infer_task",
    "quality_by_window",
    "quality_metrics",
    "regression_metrics",
]

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from monitorx.core import ValidationError
from monitorx.core.timeparse import EPOCH

# A binary score at or above this is a prediction of class 1.
DECISION_THRESHOLD = 0.5
# Numeric labels with at most this many distinct values, all whole numbers, are
# taken as classes when the task is not configured.
MAX_INFERRED_CLASSES = 20

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")


class Task(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"

    @property
    def metric_names(self) -> tuple[str, ...]:
        return CLASSIFICATION_METRICS if self is Task.CLASSIFICATION else REGRESSION_METRICS


@dataclass(frozen=True, slots=True)
class QualityWindow:
    """The quality of one window: ``start`` inclusive, ``rows`` labelled records in
    it, and each metric of the task (``None`` where it is undefined)."""

    start: datetime
    rows: int
    metrics: Mapping[str, float | None]

    def to_json(self, interval_s: float) -> dict[str, object]:
        return {
            "time": self.start,
            "end": self.start + timedelta(seconds=interval_s),
            "rows": self.rows,
            "metrics": dict(self.metrics),
        }


def _is_numeric(values: npt.NDArray[np.generic]) -> bool:
    if values.dtype.kind in "fiu":
        return True
    if values.dtype.kind == "b":
        return True
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _as_float(values: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


def infer_task(labels: npt.NDArray[np.generic]) -> Task:
    """Classification when labels are strings or booleans, or few whole numbers
    (at most `MAX_INFERRED_CLASSES` distinct); regression otherwise."""
    if labels.dtype.kind == "b" or not _is_numeric(labels):
        return Task.CLASSIFICATION
    numbers = _as_float(labels)
    finite = numbers[np.isfinite(numbers)]
    whole = bool(np.all(finite == np.round(finite)))
    if whole and np.unique(finite).size <= MAX_INFERRED_CLASSES:
        return Task.CLASSIFICATION
    return Task.REGRESSION


def _class_values(values: npt.NDArray[np.generic]) -> npt.NDArray[np.str_]:
    """Classes as strings, so 1, 1.0 and True name the same class."""
    out: list[str] = []
    for value in values.tolist():
        if isinstance(value, bool):
            out.append("1" if value else "0")
        elif isinstance(value, float) and value.is_integer():
            out.append(str(int(value)))
        else:
            out.append(str(value))
    return np.asarray(out, dtype=np.str_)


def _binary_scores(
    labels: npt.NDArray[np.str_], predictions: npt.NDArray[np.generic]
) -> npt.NDArray[np.float64] | None:
    """Predictions as probabilities of class 1, when the task is binary 0/1 and
    every prediction is a number in [0, 1] and not all are whole."""
    if not set(labels.tolist()) <= {"0", "1"} or not _is_numeric(predictions):
        return None
    if predictions.dtype.kind == "b":
        return None
    scores = _as_float(predictions)
    if not np.all((scores >= 0.0) & (scores <= 1.0)):
        return None
    if np.all(scores == np.round(scores)):
        return None  # hard 0/1 predictions, not probabilities
    return scores


def classification_metrics(
    labels: npt.NDArray[np.generic], predictions: npt.NDArray[np.generic]
) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1, ROC AUC and log loss of one set of rows."""
    from sklearn import metrics as skm  # on first use: ~0.3 s to load

    if len(labels) != len(predictions):
        raise ValidationError("labels and predictions differ in length", "label")
    result: dict[str, float | None] = dict.fromkeys(CLASSIFICATION_METRICS)
    if len(labels) == 0:
        return result
    y_true = _class_values(labels)
    scores = _binary_scores(y_true, predictions)
    if scores is not None:
        y_pred = np.where(scores >= DECISION_THRESHOLD, "1", "0")
    else:
        y_pred = _class_values(predictions)
    classes = set(y_true.tolist()) | set(y_pred.tolist())
    binary = classes <= {"0", "1"}
    average = "binary" if binary else "macro"
    options: dict[str, object] = {"average": average, "zero_division": 0}
    if binary:
        options["pos_label"] = "1"
    else:
        options["labels"] = sorted(classes)
    result["accuracy"] = float(skm.accuracy_score(y_true, y_pred))
    result["precision"] = float(skm.precision_score(y_true, y_pred, **options))
    result["recall"] = float(skm.recall_score(y_true, y_pred, **options))
    result["f1"] = float(skm.f1_score(y_true, y_pred, **options))
    if scores is not None:
        truth = (y_true == "1").astype(np.int64)
        if 0 < truth.sum() < len(truth):
            result["roc_auc"] = float(skm.roc_auc_score(truth, scores))
        result["log_loss"] = float(skm.log_loss(truth, scores, labels=[0, 1]))
    return result


def regression_metrics(
    labels: npt.NDArray[np.generic], predictions: npt.NDArray[np.generic]
) -> dict[str, float | None]:
    """MAE, RMSE, MAPE and R² of one set of rows (rows without a finite label and
    prediction are left out)."""
    from sklearn import metrics as skm  # on first use: ~0.3 s to load

    if len(labels) != len(predictions):
        raise ValidationError("labels and predictions differ in length", "label")
    if not _is_numeric(labels) or not _is_numeric(predictions):
        raise ValidationError("a regression needs numeric labels and predictions", "label")
    y_true, y_pred = _as_float(labels), _as_float(predictions)
    keep = np.isfinite(y_true) & np.isfinite(y_pred)
    y_true, y_pred = y_true[keep], y_pred[keep]
    result: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    if y_true.size == 0:
        return result
    result["mae"] = float(skm.mean_absolute_error(y_true, y_pred))
    result["rmse"] = math.sqrt(float(skm.mean_squared_error(y_true, y_pred)))
    result["mape"] = float(skm.mean_absolute_percentage_error(y_true, y_pred))
    if y_true.size >= 2:
        result["r2"] = float(skm.r2_score(y_true, y_pred))
    return result


def quality_metrics(
    task: Task, labels: npt.NDArray[np.generic], predictions: npt.NDArray[np.generic]
) -> dict[str, float | None]:
    """The task's metrics over one set of rows."""
    if task is Task.CLASSIFICATION:
        return classification_metrics(labels, predictions)
    return regression_metrics(labels, predictions)


def quality_by_window(
    ts_us: npt.NDArray[np.int64],
    labels: npt.NDArray[np.generic],
    predictions: npt.NDArray[np.generic],
    interval_s: float,
    task: Task,
) -> list[QualityWindow]:
    """The task's metrics per window of ``interval_s``, in time order.

    Windows start at multiples of ``interval_s`` since the Unix epoch (as
    ``/metrics/aggregate`` buckets do); windows without rows are left out.
    """
    if not len(ts_us) == len(labels) == len(predictions):
        raise ValidationError("timestamps, labels and predictions differ in length", "label")
    if interval_s <= 0:
        raise ValidationError("must be greater than 0", "interval")
    width_us = round(interval_s * 1_000_000)
    buckets = np.asarray(ts_us, dtype=np.int64) // width_us
    windows: list[QualityWindow] = []
    for bucket in np.unique(buckets):
        rows = np.flatnonzero(buckets == bucket)
        start = EPOCH + timedelta(microseconds=int(bucket) * width_us)
        metrics = quality_metrics(task, labels[rows], predictions[rows])
        windows.append(QualityWindow(start, int(rows.size), metrics))
    return windows
