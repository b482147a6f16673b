"""The quality checks and the scheduled drift runs, bound to the records service
(`DriftData`), the drift analysis service (`DriftAnalyzer`) and the store where
their per-model settings are kept as documents."""

from __future__ import annotations

__all__ = [
    "DATA_QUALITY_RULES_KIND",
    "QUALITY_CONFIG_KIND",
    "DriftDataSource",
    "build_drift_runs",
    "build_quality_checks",
    "check_drift_options",
]

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.data_quality import DataQualityRules
from monitorx.analysis.drift import DriftOptions, DriftReport
from monitorx.analysis.quality_thresholds import QualityConfig
from monitorx.core import Clock, ValidationError
from monitorx.server.drift_analyzer import DriftAnalyzer
from monitorx.server.drift_data import DriftData
from monitorx.server.drift_runs import (
    DRIFT_SCHEDULE_KIND,
    PREDICTION_COLUMN,
    DriftSchedule,
    ScheduledDriftRuns,
)
from monitorx.server.model_documents import ModelDocuments
from monitorx.server.quality_checks import Columns, LabelledRows, QualityChecks
from monitorx.store import Storage

QUALITY_CONFIG_KIND = "quality_config"
DATA_QUALITY_RULES_KIND = "data_quality_rules"

_OPTION_FIELDS = frozenset(DriftOptions.__dataclass_fields__)


def check_drift_options(options: Mapping[str, object]) -> None:
    """Refuse options that `POST /drift/analyze` would refuse, and unknown ones."""
    unknown = sorted(set(options) - _OPTION_FIELDS)
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]!r}", unknown[0])
    DriftOptions.from_json(options)


def _present(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind == "f":
        present: npt.NDArray[np.bool_] = ~np.isnan(values)
        return present
    return np.array([v is not None for v in values.tolist()], dtype=bool)


class DriftDataSource:
    """What the drift runs and quality checks read, from the records service."""

    def __init__(self, data: DriftData) -> None:
        self._data = data

    async def reference_columns(self, model_id: str) -> Columns | None:
        return await self._data.reference(model_id)

    async def window_columns(self, model_id: str, start: datetime, end: datetime) -> Columns:
        """The features of the records in ``[start, end)`` as logged, and their
        ``prediction`` column when they carry one (compared only when the reference
        has one too)."""
        window = await self._data.records(model_id, start, end)
        columns: dict[str, npt.NDArray[Any]] = dict(window.features)
        if window.prediction is not None and PREDICTION_COLUMN not in columns:
            columns[PREDICTION_COLUMN] = window.prediction
        return columns

    async def labelled_rows(self, model_id: str, start: datetime, end: datetime) -> LabelledRows:
        """The records in ``[start, end)`` that have both a prediction and a label."""
        window = await self._data.records_with_labels(model_id, start, end, features=[])
        if window.label is None or window.prediction is None:
            empty = np.array([], dtype=object)
            return LabelledRows(np.array([], dtype=np.int64), empty, empty)
        keep = _present(window.label) & _present(window.prediction)
        return LabelledRows(window.ts_us[keep], window.label[keep], window.prediction[keep])


def build_quality_checks(
    storage: Storage, clock: Clock, engine: AlertEngine, data: DriftData
) -> QualityChecks:
    """Quality checks reading `data`, their settings kept in `storage`."""
    configs = ModelDocuments(
        storage, QUALITY_CONFIG_KIND, QualityConfig.from_json, QualityConfig.to_json
    )
    rules = ModelDocuments(
        storage, DATA_QUALITY_RULES_KIND, DataQualityRules.from_json, DataQualityRules.to_json
    )
    return QualityChecks(clock, engine, DriftDataSource(data), configs, rules)


def build_drift_runs(storage: Storage, clock: Clock, analyzer: DriftAnalyzer) -> ScheduledDriftRuns:
    """Scheduled runs of `analyzer`, the schedules kept in `storage`."""
    schedules = ModelDocuments(
        storage, DRIFT_SCHEDULE_KIND, DriftSchedule.from_json, DriftSchedule.to_json
    )

    async def analyze(model_id: str, body: Mapping[str, object]) -> DriftReport:
        return (await analyzer.analyze(model_id, body)).features

    return ScheduledDriftRuns(clock, schedules, analyze, check_drift_options)
