"""Scheduled drift runs: each model's logged records against its reference, every
``interval``, over the last ``window``.

A run stores its results as drift metrics (`Storage.write_drift`), so that
``GET /api/v1/metrics/drift`` lists and charts them like the ones clients report,
and hands each to the `Evaluator`, which raises a ``drift`` alert when a
confidence is above the model's ``drift_confidence`` threshold:

- one ``data`` metric per run: ``score`` and ``confidence`` are the share of
  drifted features;
- one ``feature`` metric per feature (``prediction`` for the prediction column):
  ``score`` is the test's statistic; ``confidence`` is 1 − p-value for a p-value
  test, and statistic / threshold capped at 1 for a distance test (so a drifted
  feature of a distance test has confidence 1).

A run with no reference or no records in its window stores nothing and says so in
the schedule's status.
"""

from __future__ import annotations

__all__ = [
    "DRIFT_SCHEDULE_KIND",
    "Analyzer",
    "DriftRunStatus",
    "DriftSchedule",
    "OptionsCheck",
    "RecordSource",
    "ScheduledDriftRuns",
    "drift_metrics",
]

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy.typing as npt

from monitorx.analysis.drift_html import DriftVerdict
from monitorx.core import Clock, DriftMetric, DriftType, NotFound, ValidationError
from monitorx.core.severity import severity_for_confidence
from monitorx.core.timeparse import parse_duration
from monitorx.server.evaluation import Evaluator
from monitorx.server.model_documents import ModelDocuments
from monitorx.store import Storage

logger = logging.getLogger("monitorx.drift")

DRIFT_SCHEDULE_KIND = "drift_schedule"
PREDICTION_COLUMN = "prediction"
Columns = Mapping[str, npt.NDArray[Any]]


@dataclass(frozen=True, slots=True)
class DriftSchedule:
    """How often a model's drift is computed, over how much of the recent past, and
    with which test and threshold (``None``: the automatic choice of API.md)."""

    window_s: float
    interval_s: float
    stattest: str | None = None
    threshold: float | None = None

    @classmethod
    def from_json(cls, body: object) -> DriftSchedule:
        if not isinstance(body, Mapping):
            raise ValidationError("expected a JSON object", "body")
        unknown = set(body) - {"window", "interval", "stattest", "threshold"}
        if unknown:
            raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", sorted(unknown)[0])
        for name in ("window", "interval"):
            if body.get(name) is None:
                raise ValidationError("is required", name)
        stattest = body.get("stattest")
        if stattest is not None and not isinstance(stattest, str):
            raise ValidationError("must be a test name", "stattest")
        threshold = body.get("threshold")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, int | float):
                raise ValidationError("must be a number", "threshold")
            if not math.isfinite(threshold) or threshold <= 0:
                raise ValidationError("must be a finite number above 0", "threshold")
        return cls(
            window_s=parse_duration(body["window"], "window"),
            interval_s=parse_duration(body["interval"], "interval"),
            stattest=stattest,
            threshold=None if threshold is None else float(threshold),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "window": self.window_s,
            "interval": self.interval_s,
            "stattest": self.stattest,
            "threshold": self.threshold,
        }


class RecordSource(Protocol):
    """Where a run reads its data (the records service)."""

    async def reference_columns(self, model_id: str) -> Columns | None: ...

    async def window_columns(self, model_id: str, start: datetime, end: datetime) -> Columns: ...


# Runs the drift analysis of (model id, reference, current, stattest, threshold);
# blocking, so it is called in a worker thread. None: the automatic choice.
Analyzer = Callable[[str, Columns, Columns, str | None, float | None], DriftVerdict]
# Raises ValidationError (naming "stattest" or "threshold") for options the
# analysis would refuse, so that a bad schedule is refused when it is set.
OptionsCheck = Callable[[str | None, float | None], None]


@dataclass(frozen=True, slots=True)
class DriftRunStatus:
    """The outcome of a model's latest scheduled run."""

    ran_at: datetime
    start: datetime
    end: datetime
    outcome: str  # "analyzed", "no_reference", "no_records" or "failed"
    detail: str
    dataset_drift: bool | None = None
    share_drifted: float | None = None
    current_rows: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "ran_at": self.ran_at,
            "start": self.start,
            "end": self.end,
            "outcome": self.outcome,
            "detail": self.detail,
            "dataset_drift": self.dataset_drift,
            "share_drifted": self.share_drifted,
            "current_rows": self.current_rows,
        }


def _confidence(p_value: float | None, statistic: float | None, threshold: float) -> float:
    if p_value is not None:
        return min(max(1.0 - p_value, 0.0), 1.0)
    if statistic is None or threshold <= 0:
        return 0.0
    return min(max(statistic / threshold, 0.0), 1.0)


def drift_metrics(report: DriftVerdict, at: datetime) -> list[DriftMetric]:
    """The drift metrics a run stores (see the module docstring)."""
    share = float(report.share_drifted)
    metrics = [
        DriftMetric(
            model_id=report.model_id,
            drift_type=DriftType.DATA,
            confidence=share,
            severity=severity_for_confidence(share),
            timestamp=at,
            score=share,
        )
    ]
    for feature in report.features:
        confidence = _confidence(feature.p_value, feature.statistic, feature.threshold)
        kind = DriftType.PREDICTION if feature.feature == PREDICTION_COLUMN else DriftType.FEATURE
        metrics.append(
            DriftMetric(
                model_id=report.model_id,
                drift_type=kind,
                confidence=confidence,
                severity=severity_for_confidence(confidence),
                timestamp=at,
                feature=feature.feature,
                score=feature.statistic,
            )
        )
    return metrics


class ScheduledDriftRuns:
    """Runs each model's drift schedule when it is due (the scheduler calls `tick`)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        evaluator: Evaluator,
        schedules: ModelDocuments[DriftSchedule],
        source: RecordSource,
        analyze: Analyzer,
        check: OptionsCheck,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._evaluator = evaluator
        self._schedules = schedules
        self._source = source
        self._analyze = analyze
        self._check = check
        self._status: dict[str, DriftRunStatus] = {}

    @property
    def schedules(self) -> ModelDocuments[DriftSchedule]:
        return self._schedules

    def check_options(self, schedule: DriftSchedule) -> None:
        """Raise ValidationError if the analysis would refuse the schedule's options."""
        self._check(schedule.stattest, schedule.threshold)

    def status(self, model_id: str) -> DriftRunStatus | None:
        """The latest run of a model since the server started, if any."""
        return self._status.get(model_id)

    def forget(self, model_id: str) -> None:
        """Drop a model's run status (its schedule was removed or replaced)."""
        self._status.pop(model_id, None)

    async def tick(self) -> None:
        """Run every schedule whose interval has passed since its latest run."""
        now = self._clock.now()
        for model_id, schedule in self._schedules.items():
            last = self._status.get(model_id)
            if last is not None and now - last.ran_at < timedelta(seconds=schedule.interval_s):
                continue
            try:
                await self.run(model_id, schedule)
            except Exception as exc:
                logger.exception("scheduled drift run of model %s failed", model_id)
                end = self._clock.now()
                start = end - timedelta(seconds=schedule.window_s)
                self._status[model_id] = DriftRunStatus(end, start, end, "failed", str(exc))

    async def analyze_window(
        self, model_id: str, start: datetime, end: datetime
    ) -> tuple[DriftVerdict, Columns, Columns]:
        """The drift of the records in ``[start, end)`` with the options of the model's
        schedule (the automatic choice when it has none), and the data it compared.
        NotFound when the model has no reference or no records in the range."""
        reference = await self._source.reference_columns(model_id)
        if reference is None:
            raise NotFound(f"model {model_id!r} has no reference; PUT /models/{model_id}/reference")
        current = await self._source.window_columns(model_id, start, end)
        if max((len(c) for c in current.values()), default=0) == 0:
            raise NotFound(f"model {model_id!r} has no records in the range")
        schedule = self._schedules.get(model_id)
        stattest = None if schedule is None else schedule.stattest
        threshold = None if schedule is None else schedule.threshold
        report = await asyncio.to_thread(
            self._analyze, model_id, reference, current, stattest, threshold
        )
        return report, reference, current

    async def run(self, model_id: str, schedule: DriftSchedule) -> DriftRunStatus:
        """One run now, over ``[now − window, now)``; returns (and keeps) its status."""
        end = self._clock.now()
        start = end - timedelta(seconds=schedule.window_s)
        reference = await self._source.reference_columns(model_id)
        if reference is None:
            status = DriftRunStatus(end, start, end, "no_reference", "the model has no reference")
            self._status[model_id] = status
            return status
        current = await self._source.window_columns(model_id, start, end)
        rows = max((len(c) for c in current.values()), default=0)
        if rows == 0:
            status = DriftRunStatus(end, start, end, "no_records", "no records in the window")
            self._status[model_id] = status
            return status
        report = await asyncio.to_thread(
            self._analyze, model_id, reference, current, schedule.stattest, schedule.threshold
        )
        for metric in drift_metrics(report, end):
            await self._storage.write_drift(metric)
            self._evaluator.submit(metric)
        status = DriftRunStatus(
            end,
            start,
            end,
            "analyzed",
            f"{sum(f.drifted for f in report.features)} of {len(report.features)} features drifted",
            dataset_drift=report.dataset_drift,
            share_drifted=report.share_drifted,
            current_rows=report.current_rows,
        )
        self._status[model_id] = status
        return status
