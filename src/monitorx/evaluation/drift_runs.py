"""Scheduled drift runs: each model's logged records against its reference, every
``interval``, over the last ``window``.

A run is an analysis exactly as ``POST /api/v1/models/{id}/drift/analyze`` with
``{"start": now − window, "end": now}`` and the schedule's options would make it:
its results are stored as drift metrics (`drift_metrics`), so that
``GET /api/v1/metrics/drift`` lists and charts them like the ones clients report,
and each is handed to the `Evaluator`, which raises a ``drift`` alert when a
confidence is above the model's ``drift_confidence`` threshold:

- one ``data`` metric per run: ``score`` and ``confidence`` are the share of
  drifted features;
- one ``feature`` metric per feature (``prediction`` for the prediction column):
  ``score`` is the test's statistic; ``confidence`` is 1 − p-value for a p-value
  test, and statistic / threshold capped at 1 for a distance test (so a drifted
  feature of a distance test has confidence 1).

A run that cannot analyze (no reference, no records in its window) stores nothing
and says why in the schedule's status.
"""

from __future__ import annotations

__all__ = [
    "DRIFT_SCHEDULE_KIND",
    "DriftRunStatus",
    "DriftSchedule",
    "ScheduledDriftRuns",
    "WindowAnalysis",
    "check_drift_options",
    "drift_confidence",
    "drift_metrics",
]

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitorx.analysis.drift import DriftOptions
from monitorx.analysis.drift.html_report import DriftVerdict
from monitorx.core import Clock, Conflict, DriftMetric, DriftType, ValidationError
from monitorx.core.severity import severity_for_confidence
from monitorx.core.timeparse import parse_duration
from monitorx.evaluation.model_documents import ModelDocuments
from monitorx.records.types import PREDICTION_COLUMN
from monitorx.store import Storage

logger = logging.getLogger("monitorx.drift")

DRIFT_SCHEDULE_KIND = "drift_schedule"
_OPTION_FIELDS = frozenset(DriftOptions.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class DriftSchedule:
    """How often a model's drift is computed, over how much of the recent past, and
    with which analysis options (those of ``POST /drift/analyze``: ``stattest``,
    ``threshold``, ``preset``, per-column choices, binning…; none: the automatic
    choice of API.md)."""

    window_s: float
    interval_s: float
    options: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: object) -> DriftSchedule:
        """``window`` and ``interval`` are required; every other field is an analysis
        option, checked by `ScheduledDriftRuns.check_options`."""
        if not isinstance(body, Mapping):
            raise ValidationError("expected a JSON object", "body")
        for name in ("window", "interval"):
            if body.get(name) is None:
                raise ValidationError("is required", name)
        options = {k: v for k, v in body.items() if k not in ("window", "interval")}
        return cls(
            window_s=parse_duration(body["window"], "window"),
            interval_s=parse_duration(body["interval"], "interval"),
            options=options,
        )

    def to_json(self) -> dict[str, object]:
        return {"window": self.window_s, "interval": self.interval_s} | dict(self.options)


# Analyzes a model's records as an analyze request body asks and stores the results
# (the drift analysis service); Conflict when there is no reference or no records.
WindowAnalysis = Callable[[str, Mapping[str, object]], Awaitable[DriftVerdict]]


def check_drift_options(options: Mapping[str, object]) -> None:
    """Refuse options that `POST /drift/analyze` would refuse, and unknown ones, naming
    the field, so that a bad schedule is refused when it is set."""
    unknown = sorted(set(options) - _OPTION_FIELDS)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}", unknown[0])
    DriftOptions.from_json(options)


@dataclass(frozen=True, slots=True)
class DriftRunStatus:
    """The outcome of a model's latest scheduled run."""

    ran_at: datetime
    start: datetime
    end: datetime
    outcome: str  # "analyzed", "skipped" (nothing to analyze) or "failed"
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


def drift_confidence(p_value: float | None, statistic: float | None, threshold: float) -> float:
    """1 − p-value for a p-value test; statistic / threshold capped at 1 for a distance test."""
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
        confidence = drift_confidence(feature.p_value, feature.statistic, feature.threshold)
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

    def __init__(self, storage: Storage, clock: Clock, analyze: WindowAnalysis) -> None:
        self._clock = clock
        self._schedules = ModelDocuments(
            storage, DRIFT_SCHEDULE_KIND, DriftSchedule.from_json, DriftSchedule.to_json
        )
        self._analyze = analyze
        self._status: dict[str, DriftRunStatus] = {}

    async def load(self) -> None:
        """Read the stored schedules (their runs start on the next tick)."""
        await self._schedules.load()

    @property
    def schedules(self) -> ModelDocuments[DriftSchedule]:
        return self._schedules

    def check_options(self, schedule: DriftSchedule) -> None:
        """Raise ValidationError if the analysis would refuse the schedule's options."""
        check_drift_options(schedule.options)

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
            await self.run(model_id, schedule)

    async def run(self, model_id: str, schedule: DriftSchedule) -> DriftRunStatus:
        """One run now, over ``[now − window, now)``; returns (and keeps) its status."""
        end = self._clock.now()
        start = end - timedelta(seconds=schedule.window_s)
        body = dict(schedule.options) | {"start": start.isoformat(), "end": end.isoformat()}
        try:
            report = await self._analyze(model_id, body)
        except Conflict as exc:
            status = DriftRunStatus(end, start, end, "skipped", str(exc))
        except Exception as exc:
            logger.exception("scheduled drift run of model %s failed", model_id)
            status = DriftRunStatus(end, start, end, "failed", str(exc))
        else:
            drifted = sum(f.drifted for f in report.features)
            status = DriftRunStatus(
                end,
                start,
                end,
                "analyzed",
                f"{drifted} of {len(report.features)} features drifted",
                dataset_drift=report.dataset_drift,
                share_drifted=report.share_drifted,
                current_rows=report.current_rows,
            )
        self._status[model_id] = status
        return status
