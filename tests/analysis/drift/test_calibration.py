"""False-alarm calibration: on pairs drawn from one distribution, each p-value test
flags drift at its nominal rate (its threshold), within a binomial 99% interval.

Evidently's ``chisquare`` is a goodness-of-fit test that takes the reference's
shares as exact, so it is calibrated only when the reference is much larger than
the current; with samples of similar size it over-flags, which
`test_evidently_chisquare_over_flags_when_the_reference_is_small` pins down (and
``chi2``, the two-sample test, does not)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from monitorx.analysis.drift import STATTESTS, DriftOptions, analyze_columns

PAIRS = 200
REFERENCE_ROWS, CURRENT_ROWS = 300, 200
CATEGORY_SHARES = [0.4, 0.3, 0.2, 0.1]
BINARY_SHARES = [0.7, 0.3]


# Evidently's chisquare is calibrated once the reference dwarfs the current.
LARGE_REFERENCE_ROWS = 100 * CURRENT_ROWS


def _same_distribution_pairs(
    test: str, reference_rows: int = REFERENCE_ROWS
) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20260101)
    pairs = []
    for _ in range(PAIRS):
        if test in ("chisquare", "chi2"):
            labels, shares = list("abcd"), CATEGORY_SHARES
        elif test == "z":
            labels, shares = ["no", "yes"], BINARY_SHARES
        else:
            pairs.append((rng.normal(size=reference_rows), rng.normal(size=CURRENT_ROWS)))
            continue
        pairs.append(
            (
                np.asarray(rng.choice(labels, reference_rows, p=shares), dtype=object),
                np.asarray(rng.choice(labels, CURRENT_ROWS, p=shares), dtype=object),
            )
        )
    return pairs


P_VALUE_TESTS = sorted(name for name, test in STATTESTS.items() if test.rule.uses_p_value)


def _alarms(test: str, reference_rows: int) -> int:
    options = DriftOptions(stattest=test)
    return sum(
        analyze_columns("h0", {"f": ref}, {"f": cur}, options, max_workers=1).dataset_drift
        for ref, cur in _same_distribution_pairs(test, reference_rows)
    )


@pytest.mark.parametrize("test", P_VALUE_TESTS)
def test_false_alarm_rate_is_the_nominal_rate(test: str) -> None:
    rows = LARGE_REFERENCE_ROWS if test == "chisquare" else REFERENCE_ROWS
    alarms = _alarms(test, rows)
    low, high = stats.binom.interval(0.99, PAIRS, STATTESTS[test].default_threshold)
    assert low <= alarms <= high, f"{test}: {alarms} alarms in {PAIRS}, expected {low}–{high}"


def test_evidently_chisquare_over_flags_when_the_reference_is_small() -> None:
    _, high = stats.binom.interval(0.99, PAIRS, STATTESTS["chisquare"].default_threshold)
    assert _alarms("chisquare", REFERENCE_ROWS) > high
