"""``POST /models/{id}/drift/analyze``: a model's current rows against its reference.

The current rows are the records logged in a window (`RecordStore.records_with_labels`)
or rows given in the request. Feature drift, prediction drift and target drift are
three analyses (`analysis.drift.analyze_columns`) reported side by side:

- features: every column the reference and the current rows share, except the two
  below; ``share_drifted`` and ``dataset_drift`` are over these alone;
- ``prediction``: the reference's ``prediction`` column against the records'
  predictions (or the given rows' ``prediction`` column);
- ``target``: the reference's ``label`` (or ``target``) column against the labels
  joined to the records by request id (or the given rows' column).

The report is API.md's DriftReport with extra keys: ``current_rows`` is the rows
the analysis used, ``current_rows_seen`` the rows logged in the window (more when
the window is drawn from the bounded record samples), and ``prediction`` and
``target`` each a feature item or null. Its figures are stored as drift metrics
(`drift_runs.drift_metrics`), so they are charted with the others and the model's
``drift_confidence`` threshold raises ``drift`` alerts through the evaluator.
"""

from __future__ import annotations

__all__ = [
    "AnalyzedDrift",
    "DriftAnalyzer",
    "analyzed_metrics",
    "check_analysis_options",
    "conform_columns",
]

import asyncio
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from monitorx.analysis.drift import DriftOptions, DriftReport, FeatureDrift, analyze_columns
from monitorx.core import Clock, Conflict, DriftMetric, DriftType, ValidationError
from monitorx.core.severity import severity_for_confidence
from monitorx.core.timeparse import parse_timestamp, to_epoch_us
from monitorx.evaluation.drift_runs import drift_confidence, drift_metrics
from monitorx.ingest.feature_tables import Columns, table_columns, table_from_rows
from monitorx.ingest.service import IngestService
from monitorx.records.store import RecordStore
from monitorx.records.types import LABEL_COLUMN, PREDICTION_COLUMN, TARGET_COLUMNS

"""Reference columns read as the target, the first present wins."""
_WINDOW_KEYS = {"start", "end", "current"}
_OPTION_KEYS = {f.name for f in dataclasses.fields(DriftOptions)}
# API.md "Ranges": without a start, the hour before the end.
DEFAULT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AnalyzedDrift:
    """Feature drift, and prediction and target drift when both sides have them."""

    features: DriftReport
    """Feature drift: every shared column but the prediction and the target."""
    prediction: FeatureDrift | None
    target: FeatureDrift | None
    current_rows_seen: int

    def to_json(self) -> dict[str, object]:
        body = self.features.to_json()
        body["current_rows_seen"] = self.current_rows_seen
        body["prediction"] = None if self.prediction is None else self.prediction.to_json()
        body["target"] = None if self.target is None else self.target.to_json()
        plain = _plain(body)
        assert isinstance(plain, dict)
        return plain


def _plain(value: object) -> object:
    """numpy scalars as Python numbers, which the JSON encoder writes."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def conform_columns(reference: Columns, current: Columns) -> dict[str, npt.NDArray[Any]]:
    """Current columns in the kind of the reference's column of the same name:
    strings in a numerical column are read as numbers (null where they do not
    parse), numbers in a categorical column as their text."""
    out: dict[str, npt.NDArray[Any]] = {}
    for name, values in current.items():
        wanted = reference.get(name)
        if wanted is None or wanted.dtype == values.dtype:
            out[name] = values
        elif wanted.dtype == np.float64:
            out[name] = np.array([_as_number(v) for v in values], dtype=np.float64)
        else:
            out[name] = np.array(
                [None if _missing(v) else _as_text(v) for v in values], dtype=object
            )
    return out


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_number(value: object) -> float:
    if _missing(value):
        return math.nan
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _split(columns: Mapping[str, npt.NDArray[Any]]) -> tuple[Columns, Columns]:
    """(features, {"prediction"?, "label"?}) of a flat set of columns."""
    features = {
        k: v for k, v in columns.items() if k != PREDICTION_COLUMN and k not in TARGET_COLUMNS
    }
    outputs: dict[str, npt.NDArray[Any]] = {}
    if PREDICTION_COLUMN in columns:
        outputs[PREDICTION_COLUMN] = columns[PREDICTION_COLUMN]
    target = next((t for t in TARGET_COLUMNS if t in columns), None)
    if target is not None:
        outputs[LABEL_COLUMN] = columns[target]
    return features, outputs


def check_analysis_options(body: Mapping[str, object]) -> None:
    """Raise ValidationError, naming the field, for drift options an analyze request
    would refuse (`drift_runs.OptionsCheck`, for schedules)."""
    _options(body)


def _options(body: Mapping[str, object]) -> DriftOptions:
    unknown = set(body) - _WINDOW_KEYS - _OPTION_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(
            "unknown field; the body takes start, end, current and the drift options", name
        )
    return DriftOptions.from_json({k: v for k, v in body.items() if k not in _WINDOW_KEYS})


def analyze(
    model_id: str,
    reference: Columns,
    current: Columns,
    options: DriftOptions,
    rows_seen: int,
) -> AnalyzedDrift:
    """The three analyses (blocking: numpy and scipy; call it in a thread)."""
    ref_features, ref_outputs = _split(reference)
    cur_features, cur_outputs = _split(conform_columns(reference, current))
    features = analyze_columns(model_id, ref_features, cur_features, options)
    found: dict[str, FeatureDrift] = {}
    for name in (PREDICTION_COLUMN, LABEL_COLUMN):
        ref, cur = ref_outputs.get(name), cur_outputs.get(name)
        if ref is None or cur is None or not _has_values(ref) or not _has_values(cur):
            continue
        cur = conform_columns({name: ref}, {name: cur})[name]
        report = analyze_columns(model_id, {name: ref}, {name: cur}, options)
        found[name] = report.features[0]
    return AnalyzedDrift(features, found.get(PREDICTION_COLUMN), found.get(LABEL_COLUMN), rows_seen)


def _has_values(values: npt.NDArray[Any]) -> bool:
    if values.dtype == np.float64:
        return bool((~np.isnan(values)).any())
    return any(v is not None for v in values)


def analyzed_metrics(result: AnalyzedDrift, at: datetime) -> list[DriftMetric]:
    """The drift metrics stored for one analysis: those of a scheduled run
    (`drift_runs.drift_metrics`: ``data`` and one per feature), plus a
    ``prediction`` metric for prediction drift and a ``feature`` metric on feature
    ``label`` for target drift (the labels' distribution, a column like the others;
    ``concept`` is left to the detectors of the error stream)."""
    metrics = drift_metrics(result.features, at)
    outputs = ((result.prediction, DriftType.PREDICTION), (result.target, DriftType.FEATURE))
    for drift, kind in outputs:
        if drift is None:
            continue
        confidence = drift_confidence(drift.p_value, drift.statistic, drift.threshold)
        metrics.append(
            DriftMetric(
                model_id=result.features.model_id,
                drift_type=kind,
                confidence=confidence,
                severity=severity_for_confidence(confidence),
                timestamp=at,
                feature=drift.feature,
                score=drift.statistic,
            )
        )
    return metrics


class DriftAnalyzer:
    """Runs an analyze request: reads the data, analyzes off the loop, stores."""

    def __init__(self, data: RecordStore, ingest: IngestService, clock: Clock) -> None:
        self._data = data
        self._ingest = ingest
        self._clock = clock

    async def analyze(self, model_id: str, body: Mapping[str, object]) -> AnalyzedDrift:
        """Analyze per the request body; 409 without a reference or current rows."""
        options = _options(body)
        reference = await self._data.reference(model_id)
        if reference is None:
            raise Conflict(
                f"model {model_id!r} has no reference set; "
                f"PUT /api/v1/models/{model_id}/reference first"
            )
        if body.get("current") is not None:
            current, seen = await asyncio.to_thread(_given_rows, body["current"], self._data)
        else:
            current, seen = await self._window(model_id, body, reference)
        result = await asyncio.to_thread(analyze, model_id, reference, current, options, seen)
        await self._ingest.drift_metrics(analyzed_metrics(result, self._clock.now()))
        return result

    async def analyze_report(self, model_id: str, body: Mapping[str, object]) -> DriftReport:
        """`analyze`'s feature report alone (what a scheduled drift run keeps)."""
        return (await self.analyze(model_id, body)).features

    async def _window(
        self, model_id: str, body: Mapping[str, object], reference: Columns
    ) -> tuple[dict[str, npt.NDArray[Any]], int]:
        end = self._clock.now() if body.get("end") is None else parse_timestamp(body["end"], "end")
        start = (
            end - DEFAULT_WINDOW
            if body.get("start") is None
            else parse_timestamp(body["start"], "start")
        )
        to_epoch_us(start, "start")
        to_epoch_us(end, "end")
        if start >= end:
            raise ValidationError("must be before end", "start")
        features = [c for c in reference if c != PREDICTION_COLUMN and c not in TARGET_COLUMNS]
        window = await self._data.records_with_labels(model_id, start, end, features)
        if window.rows_used == 0:
            raise Conflict(
                f"model {model_id!r} has no records logged between {start.isoformat()} and "
                f"{end.isoformat()}; POST /api/v1/models/{model_id}/records, or give "
                '"current": {"rows": [...]}'
            )
        columns = dict(window.features)
        if window.prediction is not None:
            columns[PREDICTION_COLUMN] = window.prediction
        if window.label is not None:
            columns[LABEL_COLUMN] = window.label
        return columns, window.rows_seen


def _given_rows(current: object, data: RecordStore) -> tuple[dict[str, npt.NDArray[Any]], int]:
    if not isinstance(current, dict):
        raise ValidationError('expected an object {"rows": [...]}', "current")
    table = data.as_stored(table_from_rows(current.get("rows"), "current.rows"))
    return table_columns(table), table.num_rows
