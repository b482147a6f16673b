"""A model's quality configuration and the alerts its thresholds raise.

``QualityConfig`` is what ``PUT /api/v1/models/{id}/quality-config`` takes:
the task (or ``null`` to infer it from the labels), the window ``interval`` the
scheduled check evaluates, and thresholds named ``<metric>_min`` (breached when the
metric is strictly below) or ``<metric>_max`` (breached when strictly above), for
instance ``{"accuracy_min": 0.9, "mae_max": 3.0}``.

Severity follows API.md's ratio bands with the ratio taken in the bad direction:
value / threshold for a ``_max``, threshold / value for a ``_min`` (a value of 0
under a positive minimum is critical).
"""

from __future__ import annotations

__all__ = ["QualityConfig", "QualityThreshold", "quality_breaches"]

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitorx.analysis.quality.model_quality import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    QualityWindow,
    Task,
)
from monitorx.core import AlertType, Breach, Severity, ValidationError
from monitorx.core.numbers import finite_number
from monitorx.core.severity import severity_for_ratio
from monitorx.core.timeparse import parse_duration

DEFAULT_INTERVAL_S = 3600.0
_METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS


@dataclass(frozen=True, slots=True)
class QualityThreshold:
    """One limit on one metric: ``bound`` is ``min`` or ``max``."""

    metric: str
    bound: str
    value: float

    @property
    def name(self) -> str:
        return f"{self.metric}_{self.bound}"

    def breached_by(self, observed: float) -> bool:
        return observed < self.value if self.bound == "min" else observed > self.value


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """A model's quality task, check interval and thresholds."""

    task: Task | None = None
    interval_s: float = DEFAULT_INTERVAL_S
    thresholds: tuple[QualityThreshold, ...] = field(default_factory=tuple)

    @classmethod
    def from_json(cls, body: object) -> QualityConfig:
        """Parse the API body; ValidationError names the offending field."""
        if not isinstance(body, Mapping):
            raise ValidationError("expected a JSON object", "body")
        unknown = set(body) - {"task", "interval", "thresholds"}
        if unknown:
            raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", sorted(unknown)[0])
        task_value = body.get("task")
        task: Task | None = None
        if task_value is not None:
            if not isinstance(task_value, str) or task_value not in {t.value for t in Task}:
                raise ValidationError("must be 'classification', 'regression' or null", "task")
            task = Task(task_value)
        interval_s = (
            DEFAULT_INTERVAL_S
            if body.get("interval") is None
            else parse_duration(body["interval"], "interval")
        )
        raw = {} if body.get("thresholds") is None else body["thresholds"]
        if not isinstance(raw, Mapping):
            raise ValidationError("expected an object of <metric>_min / <metric>_max", "thresholds")
        thresholds = tuple(_threshold(str(k), v) for k, v in raw.items())
        if task is not None:
            for t in thresholds:
                if t.metric not in task.metric_names:
                    raise ValidationError(
                        f"{t.metric!r} is not a {task.value} metric", f"thresholds.{t.name}"
                    )
        return cls(task, interval_s, thresholds)

    def to_json(self) -> dict[str, object]:
        return {
            "task": None if self.task is None else self.task.value,
            "interval": self.interval_s,
            "thresholds": {t.name: t.value for t in self.thresholds},
        }


def _threshold(name: str, value: object) -> QualityThreshold:
    where = f"thresholds.{name}"
    metric, _, bound = name.rpartition("_")
    if bound not in ("min", "max") or metric not in _METRICS:
        raise ValidationError(
            f"unknown threshold {name!r}; use <metric>_min or <metric>_max with a metric "
            f"of {', '.join(_METRICS)}",
            where,
        )
    return QualityThreshold(metric, bound, finite_number(value, where))


def _severity(threshold: QualityThreshold, observed: float) -> Severity:
    if threshold.bound == "max":
        return severity_for_ratio(observed, threshold.value)
    if observed <= 0:
        return Severity.CRITICAL
    return severity_for_ratio(threshold.value, observed)


def quality_breaches(
    model_id: str,
    window: QualityWindow,
    interval_s: float,
    thresholds: tuple[QualityThreshold, ...],
    observed_at: datetime,
) -> list[Breach]:
    """One `quality` breach per threshold the window's metrics cross.

    Each carries the labels ``{"quality": "model", "metric": <name>}`` so that each
    metric has its own alert. A metric that is undefined for the window is not
    checked.
    """
    end = window.start + timedelta(seconds=interval_s)
    breaches: list[Breach] = []
    for threshold in thresholds:
        observed = window.metrics.get(threshold.metric)
        if observed is None or not threshold.breached_by(observed):
            continue
        side = "below the minimum" if threshold.bound == "min" else "above the maximum"
        breaches.append(
            Breach(
                model_id=model_id,
                alert_type=AlertType.QUALITY,
                severity=_severity(threshold, observed),
                value=observed,
                threshold=threshold.value,
                message=(
                    f"{threshold.metric} {observed:.4g} over {window.rows} labelled records "
                    f"({window.start.isoformat()} to {end.isoformat()}) is {side} "
                    f"{threshold.value:g} on model {model_id}"
                ),
                observed_at=observed_at,
                labels={"quality": "model", "metric": threshold.metric},
            )
        )
    return breaches
