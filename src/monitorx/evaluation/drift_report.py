"""The HTML drift report of a model's window: the analysis of ``POST /drift/analyze``
(features, then prediction and target drift), rendered by `analysis.drift_html`.

It stores nothing: downloading a report is a read, unlike an analyze request.
"""

from __future__ import annotations

__all__ = ["render_window_report"]

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy.typing as npt

from monitorx.analysis.drift import DriftOptions, FeatureDrift
from monitorx.analysis.drift.html_report import render_drift_report
from monitorx.core import Conflict
from monitorx.evaluation.drift_analyzer import analyze, conform_columns
from monitorx.records.store import RecordStore
from monitorx.records.types import LABEL_COLUMN, PREDICTION_COLUMN, TARGET_COLUMNS


@dataclass(frozen=True, slots=True)
class _Verdict:
    """The report's rows: every feature, then prediction and target drift."""

    model_id: str
    reference_rows: int
    current_rows: int
    dataset_drift: bool
    share_drifted: float
    features: Sequence[FeatureDrift]


async def render_window_report(
    data: RecordStore,
    model_id: str,
    start: datetime,
    end: datetime,
    options: Mapping[str, object],
) -> str:
    """The page for the records in ``[start, end)``; Conflict (as the analyze
    endpoint) when the model has no reference or no records in the window."""
    parsed = DriftOptions.from_json(options)
    reference = await data.reference(model_id)
    if reference is None:
        raise Conflict(
            f"model {model_id!r} has no reference set; "
            f"PUT /api/v1/models/{model_id}/reference first"
        )
    features = [c for c in reference if c != PREDICTION_COLUMN and c not in TARGET_COLUMNS]
    window = await data.records_with_labels(model_id, start, end, features)
    if window.rows_used == 0:
        raise Conflict(
            f"model {model_id!r} has no records logged between {start.isoformat()} and "
            f"{end.isoformat()}"
        )
    current: dict[str, npt.NDArray[Any]] = dict(window.features)
    if window.prediction is not None:
        current[PREDICTION_COLUMN] = window.prediction
    if window.label is not None:
        current[LABEL_COLUMN] = window.label
    result = await asyncio.to_thread(
        analyze, model_id, reference, current, parsed, window.rows_seen
    )
    charted_reference = dict(reference)
    target = next((t for t in TARGET_COLUMNS if t in reference), None)
    if target is not None:
        charted_reference[LABEL_COLUMN] = reference[target]
    outputs = tuple(d for d in (result.prediction, result.target) if d is not None)
    report = result.features
    verdict = _Verdict(
        model_id,
        report.reference_rows,
        report.current_rows,
        report.dataset_drift,
        report.share_drifted,
        (*report.features, *outputs),
    )
    charted_current = conform_columns(charted_reference, current)
    return await asyncio.to_thread(
        render_drift_report, verdict, charted_reference, charted_current, start, end
    )
