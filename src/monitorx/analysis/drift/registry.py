"""Every per-column test by name: the kinds of column it takes, its default
threshold and how a threshold decides drift.

Names, thresholds and comparison directions are Evidently's
(``evidently/legacy/calculations/stattests/*.py``): p-value tests flag drift when
the p-value is below the threshold (``ks`` and ``cramer_von_mises``: at or below),
distances when the statistic is at or above it (``energy``: above). ``energy`` is
Evidently's ``ed``; both names are accepted. ``l_infinity`` (a distance) and
``chi2`` (a two-sample chi-square on the contingency table) are NannyML's, with no
Evidently counterpart.

Tests on counts (``chisquare``, ``z``, the binned distances) take both kinds of
column, since a number can be a category; tests on the order of values take
numerical columns only.
"""

from __future__ import annotations

__all__ = [
    "DISTANCE_THRESHOLD",
    "P_VALUE_THRESHOLD",
    "STATTESTS",
    "DriftRule",
    "StatTest",
    "stattest_by_name",
]

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from monitorx.analysis.drift import distance_tests, pvalue_tests
from monitorx.analysis.drift.outcome import TestOutcome, TestParameters
from monitorx.analysis.drift.samples import ColumnKind, ColumnPair
from monitorx.core import ValidationError


class DriftRule(StrEnum):
    """How a threshold turns a test's outcome into a verdict."""

    P_BELOW = "p_value < threshold"
    P_AT_OR_BELOW = "p_value <= threshold"
    AT_OR_ABOVE = "statistic >= threshold"
    ABOVE = "statistic > threshold"

    @property
    def uses_p_value(self) -> bool:
        return self in (DriftRule.P_BELOW, DriftRule.P_AT_OR_BELOW)

    def drifted(self, outcome: TestOutcome, threshold: float) -> bool:
        """The verdict; a NaN value (an undefined test) is never drift, an infinite
        distance always is."""
        value = outcome.p_value if self.uses_p_value else outcome.statistic
        if value is None or math.isnan(value):
            return False
        if self is DriftRule.P_BELOW:
            return value < threshold
        if self is DriftRule.P_AT_OR_BELOW:
            return value <= threshold
        if self is DriftRule.AT_OR_ABOVE:
            return value >= threshold
        return value > threshold


@dataclass(frozen=True, slots=True)
class StatTest:
    name: str
    kinds: frozenset[ColumnKind]
    default_threshold: float
    rule: DriftRule
    compute: Callable[[ColumnPair, TestParameters], TestOutcome]

    def applies_to(self, kind: ColumnKind) -> bool:
        return kind in self.kinds


_BOTH = frozenset(ColumnKind)
_NUMERICAL = frozenset({ColumnKind.NUMERICAL})
# Evidently's default thresholds: a p-value of 0.05; 0.1 for distances and for
# the p-value tests anderson, cramer_von_mises and empirical_mmd.
P_VALUE_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1

STATTESTS: Mapping[str, StatTest] = {
    t.name: t
    for t in (
        StatTest("ks", _NUMERICAL, P_VALUE_THRESHOLD, DriftRule.P_AT_OR_BELOW, pvalue_tests.ks),
        StatTest("chisquare", _BOTH, P_VALUE_THRESHOLD, DriftRule.P_BELOW, pvalue_tests.chisquare),
        StatTest(
            "chi2", _BOTH, P_VALUE_THRESHOLD, DriftRule.P_BELOW, pvalue_tests.chi2_contingency
        ),
        StatTest("z", _BOTH, P_VALUE_THRESHOLD, DriftRule.P_BELOW, pvalue_tests.z_test),
        StatTest(
            "anderson", _NUMERICAL, DISTANCE_THRESHOLD, DriftRule.P_BELOW, pvalue_tests.anderson
        ),
        StatTest(
            "cramer_von_mises",
            _NUMERICAL,
            DISTANCE_THRESHOLD,
            DriftRule.P_AT_OR_BELOW,
            pvalue_tests.cramer_von_mises,
        ),
        StatTest(
            "mannw", _NUMERICAL, P_VALUE_THRESHOLD, DriftRule.P_BELOW, pvalue_tests.mann_whitney
        ),
        StatTest("t_test", _NUMERICAL, P_VALUE_THRESHOLD, DriftRule.P_BELOW, pvalue_tests.t_test),
        StatTest(
            "empirical_mmd",
            _NUMERICAL,
            DISTANCE_THRESHOLD,
            DriftRule.P_BELOW,
            pvalue_tests.empirical_mmd,
        ),
        StatTest(
            "wasserstein",
            _NUMERICAL,
            DISTANCE_THRESHOLD,
            DriftRule.AT_OR_ABOVE,
            distance_tests.wasserstein,
        ),
        StatTest(
            "jensenshannon",
            _BOTH,
            DISTANCE_THRESHOLD,
            DriftRule.AT_OR_ABOVE,
            distance_tests.jensenshannon,
        ),
        StatTest("psi", _BOTH, DISTANCE_THRESHOLD, DriftRule.AT_OR_ABOVE, distance_tests.psi),
        StatTest("kl_div", _BOTH, DISTANCE_THRESHOLD, DriftRule.AT_OR_ABOVE, distance_tests.kl_div),
        StatTest(
            "hellinger", _BOTH, DISTANCE_THRESHOLD, DriftRule.AT_OR_ABOVE, distance_tests.hellinger
        ),
        StatTest("energy", _NUMERICAL, DISTANCE_THRESHOLD, DriftRule.ABOVE, distance_tests.energy),
        StatTest(
            "l_infinity",
            _BOTH,
            DISTANCE_THRESHOLD,
            DriftRule.AT_OR_ABOVE,
            distance_tests.l_infinity,
        ),
    )
}

# Other names users bring from other tools.
_ALIASES = {"ed": "energy"}


def stattest_by_name(name: str, field: str) -> StatTest:
    """The test called `name` (or an alias); a ValidationError on `field` if none."""
    test = STATTESTS.get(_ALIASES.get(name, name))
    if test is None:
        known = ", ".join(sorted(STATTESTS))
        raise ValidationError(f"unknown test {name!r}; one of {known}", field)
    return test
