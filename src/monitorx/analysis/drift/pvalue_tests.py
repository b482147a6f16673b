"""Hypothesis tests: each returns its test statistic and the p-value that decides.

Each function is Evidently's (``evidently/legacy/calculations/stattests``) on the
cleaned column (nulls dropped), computed with scipy (imported by each test when it
first runs: a server that analyses nothing never loads scipy.stats, ~50 MiB):

- ``ks``: ``scipy.stats.ks_2samp(ref, cur)``, two-sided, ``method="auto"`` (the
  ``nannyml`` preset estimates D, without a p-value, for references of 10,000
  rows and more, as NannyML: `nannyml_estimates`).
- ``chisquare``: expected counts are the reference's counts scaled to the current's
  size, ``f_exp = ref_count · n_cur / n_ref``, over the union of both sides'
  values; ``scipy.stats.chisquare(cur_count, f_exp)``. A value the reference never
  saw has ``f_exp = 0``: the statistic is infinite and the p-value 0. This is a
  goodness-of-fit test that takes the reference's shares as exact: when the
  reference is not much larger than the current it flags drift more often than
  its threshold under no drift (docs/drift.md; ``chi2`` does not).
- ``chi2`` (NannyML's, not Evidently's): the two-sample test of homogeneity on the
  2 × k table of both sides' counts, ``scipy.stats.chi2_contingency`` (Yates's
  correction when k = 2). Unlike ``chisquare`` it treats the reference as a sample
  too, so its false-alarm rate is the nominal one at any reference size.
- ``z``: values are split on the smallest (first sorted) value of the union;
  pooled two-proportion z = (p1 − p2) / √(P(1 − P)(1/n1 + 1/n2)), p = 2(1 − Φ(|z|)).
  Both sides one and the same constant: z = 0, p = 1.
- ``anderson``: ``scipy.stats.anderson_ksamp([ref, cur])`` (midrank), whose p-value
  scipy caps to [0.001, 0.25].
- ``cramer_von_mises``: ``scipy.stats.cramervonmises_2samp`` (exact up to 20 rows a
  side, asymptotic beyond), the same algorithm Evidently vendors.
- ``mannw``: ``scipy.stats.mannwhitneyu(ref, cur, alternative="less")`` — one-sided,
  as Evidently: it flags a current shifted to larger values.
- ``t_test``: ``scipy.stats.ttest_ind(ref, cur)`` (equal variances).
- ``empirical_mmd``: maximum mean discrepancy with a Gaussian kernel whose width is
  the median heuristic on the reference, p-value from 100 permutations.
"""

from __future__ import annotations

__all__ = [
    "MMD_PERMUTATIONS",
    "anderson",
    "chi2_contingency",
    "chisquare",
    "cramer_von_mises",
    "empirical_mmd",
    "ks",
    "mann_whitney",
    "t_test",
    "z_test",
]

import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from monitorx.analysis.drift.nannyml_estimates import estimated_ks
from monitorx.analysis.drift.outcome import TestOutcome, TestParameters
from monitorx.analysis.drift.samples import ColumnPair

FloatArray = npt.NDArray[np.float64]

# Permutations behind empirical_mmd's p-value (Evidently's count).
MMD_PERMUTATIONS = 100
# The kernel width when the median pairwise distance is 0 (Evidently's fallback).
_MMD_FALLBACK_SIGMA = math.sqrt(0.5)


# `warnings.catch_warnings` swaps process-wide state; columns are tested on
# several threads, so the swaps take turns.
_WARNINGS_LOCK = threading.Lock()


@contextmanager
def _scipy_notices_silenced(category: type[Warning] = Warning) -> Iterator[None]:
    """Silence scipy's notices about a result it still returns (a capped p-value,
    a switch from the exact to the asymptotic method): the value is the one
    Evidently reports, and the notice would only fill the server's log."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", category)
        yield


def ks(pair: ColumnPair, parameters: TestParameters) -> TestOutcome:
    from scipy import stats

    if _estimated(pair, parameters):
        statistic = estimated_ks(pair.reference, pair.current, parameters.estimate_bins)
        return TestOutcome(statistic, None)
    with _scipy_notices_silenced(RuntimeWarning):
        # "Exact calculation unsuccessful. Switching to method=asymp."
        result = stats.ks_2samp(pair.reference, pair.current)
    return TestOutcome(float(result.statistic), float(result.pvalue))


def chisquare(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import stats

    counts = pair.counts
    expected = counts.reference * (len(pair.current) / len(pair.reference))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.chisquare(counts.current, expected)
    return TestOutcome(float(result.statistic), float(result.pvalue))


def chi2_contingency(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import stats

    counts = pair.counts
    result = stats.chi2_contingency(np.vstack((counts.reference, counts.current)))
    return TestOutcome(float(result.statistic), float(result.pvalue))


def z_test(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import special

    counts = pair.counts
    if len(counts.keys) == 1:
        return TestOutcome(0.0, 1.0)
    first = int(np.argmin(counts.keys)) if _all_numbers(counts.keys) else _first_sorted(counts.keys)
    n1, n2 = len(pair.reference), len(pair.current)
    p1 = 1.0 - counts.reference[first] / n1
    p2 = 1.0 - counts.current[first] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return TestOutcome(z, float(2 * (1 - special.ndtr(abs(z)))))


def anderson(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import stats

    with _scipy_notices_silenced():
        # The p-value is capped to [0.001, 0.25]; `midrank` is being renamed.
        result = stats.anderson_ksamp([pair.reference, pair.current])
    return TestOutcome(float(result.statistic), float(result.pvalue))


def cramer_von_mises(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import stats

    result = stats.cramervonmises_2samp(pair.reference, pair.current)
    return TestOutcome(float(result.statistic), float(result.pvalue))


def mann_whitney(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import stats

    result = stats.mannwhitneyu(pair.reference, pair.current, alternative="less")
    return TestOutcome(float(result.statistic), float(result.pvalue))


def t_test(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import stats

    with _scipy_notices_silenced(RuntimeWarning):
        # Two constant samples: catastrophic cancellation, a NaN the report
        # shows as null.
        result = stats.ttest_ind(pair.reference, pair.current)
    return TestOutcome(float(result.statistic), float(result.pvalue))


def empirical_mmd(pair: ColumnPair, parameters: TestParameters) -> TestOutcome:
    """Evidently's ``mmd_pval``: the kernel width comes from the reference's
    pairwise squared distances (σ = √(median / 2), 'nearest' percentile), the
    diagonal is zeroed, MMD² = mean Kxx + mean Kyy − 2 mean Kxy (unbiased for
    Kxx, Kyy), and p = share of permuted MMD² at or above the observed one.
    Sides longer than ``mmd_max_rows`` are sampled without replacement.

    Every permutation's block sums come from one matrix product: with a the
    0/1 vector of the rows drawn as reference, Σ Kxx = aᵀKa, Σ Kxy = aᵀK1 − aᵀKa
    and Σ Kyy = 1ᵀK1 − 2aᵀK1 + aᵀKa."""
    rng = np.random.default_rng(parameters.seed)
    x = _at_most(pair.reference, parameters.mmd_max_rows, rng)
    y = _at_most(pair.current, parameters.mmd_max_rows, rng)
    n_x, n_y = len(x), len(y)
    if n_x < 2 or n_y < 2:
        return TestOutcome(math.nan, None)
    xx = np.subtract.outer(x, x) ** 2
    median = float(np.percentile(xx.ravel(), 50, method="nearest"))
    sigma = math.sqrt(0.5 * median) if median > 0 else _MMD_FALLBACK_SIGMA
    both = np.concatenate((x, y))
    kernel = np.exp(-(np.subtract.outer(both, both) ** 2) / (2.0 * sigma**2))
    np.fill_diagonal(kernel, 0.0)
    n = n_x + n_y
    drawn = np.zeros((n, MMD_PERMUTATIONS + 1))
    drawn[:n_x, 0] = 1.0  # column 0: the observed split
    for i in range(1, MMD_PERMUTATIONS + 1):
        drawn[rng.permutation(n)[:n_x], i] = 1.0
    row_sums = kernel.sum(axis=1)
    within_x = np.einsum("ij,ij->j", drawn, kernel @ drawn)
    x_to_all = drawn.T @ row_sums
    across = x_to_all - within_x
    within_y = row_sums.sum() - 2.0 * x_to_all + within_x
    mmd = within_x / (n_x * (n_x - 1)) + within_y / (n_y * (n_y - 1)) - 2.0 * across / (n_x * n_y)
    observed = float(mmd[0])
    return TestOutcome(observed, float(np.mean(observed <= mmd[1:])))


def _estimated(pair: ColumnPair, parameters: TestParameters) -> bool:
    limit = parameters.estimate_from_rows
    return limit is not None and len(pair.reference) >= limit


def _at_most(values: FloatArray, limit: int, rng: np.random.Generator) -> FloatArray:
    if len(values) <= limit:
        return values
    return rng.choice(values, size=limit, replace=False)


def _all_numbers(keys: tuple[object, ...]) -> bool:
    return all(isinstance(k, int | float) for k in keys)


def _first_sorted(keys: tuple[object, ...]) -> int:
    """Index of the smallest key, as Python's ``sorted`` orders them (categories
    are strings; mixed types sort by their text)."""
    try:
        return keys.index(min(keys))  # type: ignore[type-var]
    except TypeError:
        return keys.index(min(keys, key=str))
