"""NannyML's data-driven thresholds and verdicts, for the ``nannyml`` preset.

NannyML does not use a fixed threshold. It cuts the reference into chunks
(``DefaultChunker``: 10 chunks of ``n // 10`` rows in order, a remainder kept as
an extra, shorter chunk), computes the method on every reference chunk against
the whole reference, and alerts when a value is above
``mean + 3 · std`` (population std, NaN chunks ignored) of those values, clipped to
the method's range (``ks``: at most 1). It monitors the KS *statistic*, not its
p-value; its chi-square (``chi2``) alerts on p < 0.05 and ignores thresholds
(``nannyml/drift/univariate/methods.py``, ``nannyml/thresholds.py``).
Tests NannyML does not have keep Evidently's thresholds and rules.
"""

from __future__ import annotations

__all__ = [
    "CHUNK_COUNT",
    "NANNYML_METHODS",
    "STD_MULTIPLIER",
    "nannyml_rule",
    "nannyml_threshold",
]

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from monitorx.analysis.drift.outcome import TestParameters
from monitorx.analysis.drift.registry import DriftRule, StatTest
from monitorx.analysis.drift.samples import ColumnPair, non_null

# NannyML's DefaultChunker: the reference in this many chunks.
CHUNK_COUNT = 10
# Alert above mean + this many standard deviations of the reference chunks.
STD_MULTIPLIER = 3.0
# NannyML's methods (by our names) whose statistic it thresholds.
NANNYML_METHODS = frozenset({"jensenshannon", "hellinger", "wasserstein", "ks", "l_infinity"})
# NannyML's chi-square decides on its p-value at this level, whatever the threshold.
CHI2_P_VALUE = 0.05
# NannyML's upper limit on a learned threshold, per method.
_UPPER_LIMITS = {"ks": 1.0}


def nannyml_rule(test: StatTest) -> DriftRule:
    """How NannyML decides: on the statistic, strictly above, for its methods."""
    if test.name in NANNYML_METHODS:
        return DriftRule.ABOVE
    return test.rule


def nannyml_threshold(
    test: StatTest,
    pair: ColumnPair,
    raw_reference: npt.NDArray[Any],
    parameters: TestParameters,
) -> float:
    """The threshold NannyML would learn for `test` from this column's reference
    (`pair.reference` is its cleaned copy, `raw_reference` the rows with nulls, in
    order, as NannyML chunks them). Too few rows for 10 chunks, or no finite value:
    the test's default threshold."""
    if test.name == "chi2":
        return CHI2_P_VALUE
    if test.name not in NANNYML_METHODS:
        return test.default_threshold
    chunk_rows = len(raw_reference) // CHUNK_COUNT
    if chunk_rows == 0:
        return test.default_threshold
    values = []
    for start in range(0, len(raw_reference), chunk_rows):
        chunk = non_null(raw_reference[start : start + chunk_rows], pair.kind)
        if len(chunk) == 0:
            continue
        chunk_pair = ColumnPair(pair.reference, chunk, pair.kind)
        values.append(test.compute(chunk_pair, parameters).statistic)
    finite = np.array([v for v in values if math.isfinite(v)])
    if len(finite) == 0:
        return test.default_threshold
    upper = float(finite.mean() + STD_MULTIPLIER * finite.std())
    return min(upper, _UPPER_LIMITS.get(test.name, math.inf))
