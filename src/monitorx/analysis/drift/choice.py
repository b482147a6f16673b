"""Which test a column gets when the request names none.

The ``evidently`` preset follows API.md's table, Evidently's
``_get_default_stattest``:

====================================  ==================  ====================
column                                reference ≤ 1,000   reference > 1,000
====================================  ==================  ====================
numerical, ``n_unique`` ≤ 2           ``z``               ``jensenshannon``
numerical, 3 ≤ ``n_unique`` ≤ 5       ``chisquare``       ``jensenshannon``
numerical, ``n_unique`` > 5           ``ks``              ``wasserstein``
categorical, ``n_unique`` ≤ 2         ``z``               ``jensenshannon``
categorical, ``n_unique`` > 2         ``chisquare``       ``jensenshannon``
====================================  ==================  ====================

``n_unique`` counts the distinct non-null values of reference and current
together; "reference ≤ 1,000" counts every reference row, nulls included, as
API.md states. (Evidently itself counts the reference rows left after dropping
nulls, so the two differ only for a reference above 1,000 rows that has 1,000 or
fewer non-null values; docs/drift.md.) The ``nannyml`` preset uses
``jensenshannon`` for every column, NannyML's default method.
"""

from __future__ import annotations

__all__ = ["SMALL_REFERENCE_ROWS", "automatic_stattest"]

from monitorx.analysis.drift.options import Preset
from monitorx.analysis.drift.registry import STATTESTS, StatTest
from monitorx.analysis.drift.samples import ColumnKind, ColumnPair

# References of at most this many rows get the p-value tests.
SMALL_REFERENCE_ROWS = 1000
# Up to this many distinct values a column is binary (z-test) ...
_BINARY_MAX_UNIQUE = 2
# ... and a numerical column up to this many is tested on its values' counts.
_FEW_VALUES_MAX_UNIQUE = 5


def automatic_stattest(pair: ColumnPair, reference_rows: int, preset: Preset) -> StatTest:
    """The preset's test for a column whose reference has `reference_rows` rows
    (nulls included)."""
    if preset is Preset.NANNYML:
        return STATTESTS["jensenshannon"]
    small = reference_rows <= SMALL_REFERENCE_ROWS
    if pair.kind is ColumnKind.NUMERICAL:
        many = pair.union_has_more_unique_than(_FEW_VALUES_MAX_UNIQUE)
        if many:
            return STATTESTS["ks" if small else "wasserstein"]
        if not small:
            return STATTESTS["jensenshannon"]
    elif not small:
        return STATTESTS["jensenshannon"]
    binary = not pair.union_has_more_unique_than(_BINARY_MAX_UNIQUE)
    return STATTESTS["z" if binary else "chisquare"]
