"""Drift of every column of the current against the reference.

`analyze_columns` tests each column present on both sides, in the reference's
column order: the kind comes from the reference's dtype (numbers numerical,
strings categorical), nulls are dropped, the test is the request's or the
preset's automatic choice (`choice.automatic_stattest`), the threshold the
request's or the test's (NannyML's learned one under the ``nannyml`` preset).
A column with no non-null value on one side, or too few values for its test,
is reported untested: null statistic and p-value, not drifted, and a note.

The work is numpy and scipy on whole columns, no loop over rows; columns are
tested on a thread pool (numpy and scipy release the GIL while they sort and
sum). The server calls this in a worker thread.
"""

from __future__ import annotations

__all__ = ["Columns", "analyze_columns"]

import logging
import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from monitorx.analysis.drift.choice import automatic_stattest
from monitorx.analysis.drift.nannyml_thresholds import nannyml_rule, nannyml_threshold
from monitorx.analysis.drift.options import DriftOptions, Preset
from monitorx.analysis.drift.outcome import TestOutcome, TestParameters
from monitorx.analysis.drift.registry import DriftRule, StatTest, stattest_by_name
from monitorx.analysis.drift.report import DriftReport, FeatureDrift
from monitorx.analysis.drift.samples import ColumnKind, ColumnPair, column_kind, non_null
from monitorx.core import ValidationError

Columns = Mapping[str, npt.NDArray[Any]]

logger = logging.getLogger("monitorx.drift")


def analyze_columns(
    model_id: str,
    reference: Columns,
    current: Columns,
    options: DriftOptions | None = None,
    *,
    max_workers: int | None = None,
) -> DriftReport:
    """The DriftReport of `current` against `reference` (columns by name, each a
    1-D array: float64 with NaN for null, or objects: str or None). Columns are
    tested on up to `max_workers` threads (default: one per CPU).

    Per-column options naming a column not analyzed here are ignored, so one
    DriftOptions can serve the feature, prediction and target analyses of a
    request; the caller checks the names against its data."""
    options = options or DriftOptions()
    names = [name for name in reference if name in current]
    if not names:
        raise ValidationError("reference and current share no column", "current")
    parameters = options.parameters()
    workers = max(1, min(len(names), max_workers or os.cpu_count() or 1))
    if workers == 1:
        features = tuple(
            _feature_drift(name, reference[name], current[name], options, parameters)
            for name in names
        )
        return DriftReport.of(model_id, _rows(reference, names), _rows(current, names), features)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift") as pool:
        futures = [
            pool.submit(_feature_drift, name, reference[name], current[name], options, parameters)
            for name in names
        ]
        features = tuple(future.result() for future in futures)
    return DriftReport.of(
        model_id,
        reference_rows=_rows(reference, names),
        current_rows=_rows(current, names),
        features=features,
    )


def _feature_drift(
    name: str,
    raw_reference: npt.NDArray[Any],
    raw_current: npt.NDArray[Any],
    options: DriftOptions,
    parameters: TestParameters,
) -> FeatureDrift:
    kind = column_kind(raw_reference)
    pair = ColumnPair(_cleaned(raw_reference, kind, name), _cleaned(raw_current, kind, name), kind)
    test, explicit_threshold = _test_for(name, pair, len(raw_reference), options)
    rule = test.rule
    if explicit_threshold is not None:
        threshold = explicit_threshold
    elif options.preset is Preset.NANNYML:
        threshold = nannyml_threshold(test, pair, raw_reference, parameters)
    else:
        threshold = test.default_threshold
    if options.preset is Preset.NANNYML:
        rule = nannyml_rule(test)
    untested = _why_untestable(pair, test)
    if untested is not None:
        return FeatureDrift(name, kind.value, test.name, None, None, threshold, False, untested)
    try:
        # Extreme magnitudes overflow to inf/NaN, which the report shows as null.
        with np.errstate(all="ignore"):
            outcome = test.compute(pair, parameters)
    except (ValueError, ArithmeticError, IndexError) as error:
        # scipy refusing a degenerate sample the checks above did not foresee:
        # the column is reported untested rather than failing the whole report.
        logger.warning("drift test %s failed on column %r: %r", test.name, name, error)
        note = f"{test.name} could not be computed on these values ({error})"
        return FeatureDrift(name, kind.value, test.name, None, None, threshold, False, note)
    return FeatureDrift(
        feature=name,
        kind=kind.value,
        stattest=test.name,
        statistic=_finite(outcome.statistic),
        p_value=_finite(outcome.p_value),
        threshold=threshold,
        drifted=rule.drifted(outcome, threshold),
        note=_note(outcome, rule),
    )


def _test_for(
    name: str, pair: ColumnPair, reference_rows: int, options: DriftOptions
) -> tuple[StatTest, float | None]:
    """The column's test and the threshold the request set for it (None: none)."""
    per_column = options.per_column_stattest.get(name)
    threshold = options.per_column_threshold.get(name)
    if per_column is not None:
        test = stattest_by_name(per_column, f"per_column_stattest.{name}")
        if not test.applies_to(pair.kind):
            raise ValidationError(
                f"{test.name} cannot test the {pair.kind.value} column {name!r}",
                f"per_column_stattest.{name}",
            )
        return test, threshold if threshold is not None else options.threshold
    if options.stattest is not None:
        test = stattest_by_name(options.stattest, "stattest")
        if test.applies_to(pair.kind):
            return test, threshold if threshold is not None else options.threshold
        return automatic_stattest(pair, reference_rows, options.preset), threshold
    global_threshold = threshold if threshold is not None else options.threshold
    return automatic_stattest(pair, reference_rows, options.preset), global_threshold


# The fewest non-null values per side each test needs.
_MIN_VALUES = {"cramer_von_mises": 2, "empirical_mmd": 2, "t_test": 2, "anderson": 2}


def _why_untestable(pair: ColumnPair, test: StatTest) -> str | None:
    if len(pair.reference) == 0:
        return "no non-null value in the reference"
    if len(pair.current) == 0:
        return "no non-null value in the current"
    needed = _MIN_VALUES.get(test.name, 1)
    if min(len(pair.reference), len(pair.current)) < needed:
        return f"{test.name} needs at least {needed} non-null values on each side"
    if test.name == "anderson" and not pair.union_has_more_unique_than(1):
        return "anderson needs at least two distinct values"
    return None


def _note(outcome: TestOutcome, rule: DriftRule) -> str | None:
    value = outcome.p_value if rule.uses_p_value else outcome.statistic
    if value is not None and math.isnan(value):
        return "the test is undefined on these values (e.g. two constant samples)"
    return None


def _cleaned(values: npt.NDArray[Any], kind: ColumnKind, name: str) -> npt.NDArray[Any]:
    if values.ndim != 1:
        raise ValidationError("must be one-dimensional", name)
    if kind is ColumnKind.NUMERICAL and column_kind(values) is not ColumnKind.NUMERICAL:
        try:
            values = np.asarray(
                [np.nan if v is None else v for v in values.tolist()], dtype=np.float64
            )
        except (TypeError, ValueError):
            raise ValidationError(
                "the reference holds numbers but the current holds text", name
            ) from None
    return non_null(values, kind)


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value


def _rows(columns: Columns, names: list[str]) -> int:
    return max(len(columns[name]) for name in names)
