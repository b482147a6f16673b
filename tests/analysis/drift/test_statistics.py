"""Every statistic against a direct scipy/numpy computation of its formula
(docs/drift.md), on seeded samples of several shapes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from monitorx.analysis.drift import (
    STATTESTS,
    Binning,
    BinningRule,
    ColumnKind,
    ColumnPair,
    DriftOptions,
    EmptyBinFill,
    JsOutput,
    Preset,
    TestParameters,
    WassersteinNorm,
)

EVIDENTLY = TestParameters()
CLOSE = {"rel": 1e-9, "abs": 1e-12}


def _numerical_pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    return {
        "normal": (rng.normal(size=700), rng.normal(0.2, 1.1, size=450)),
        "skewed": (rng.exponential(size=2500), rng.exponential(1.3, size=1200)),
        "ties": (
            rng.integers(0, 40, 900).astype(float),
            rng.integers(0, 45, 600).astype(float),
        ),
        "small": (rng.normal(size=12), rng.normal(size=9)),
    }


NUMERICAL = _numerical_pairs()


def _pair(name: str) -> ColumnPair:
    ref, cur = NUMERICAL[name]
    return ColumnPair(ref, cur, ColumnKind.NUMERICAL)


def _categorical_pair() -> ColumnPair:
    rng = np.random.default_rng(12)
    ref = np.asarray(rng.choice(list("abcde"), 800, p=[0.3, 0.3, 0.2, 0.1, 0.1]), dtype=object)
    cur = np.asarray(rng.choice(list("abcdf"), 500, p=[0.25, 0.3, 0.2, 0.2, 0.05]), dtype=object)
    return ColumnPair(ref, cur, ColumnKind.CATEGORICAL)


def _evidently_fill(shares: np.ndarray) -> np.ndarray:
    smallest = shares[shares > 0].min()
    fill = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return np.where(shares == 0, fill, shares)


def _sturges_shares(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(np.unique(ref)) <= 20:
        keys = np.union1d(ref, cur)
        return (
            np.array([np.sum(ref == k) for k in keys]) / len(ref),
            np.array([np.sum(cur == k) for k in keys]) / len(cur),
        )
    edges = np.histogram_bin_edges(np.concatenate((ref, cur)), bins="sturges")
    return np.histogram(ref, edges)[0] / len(ref), np.histogram(cur, edges)[0] / len(cur)


@pytest.mark.parametrize("name", list(NUMERICAL))
def test_numerical_tests_equal_scipy(name: str) -> None:
    ref, cur = NUMERICAL[name]
    pair = _pair(name)

    def run(test: str) -> tuple[float, float | None]:
        outcome = STATTESTS[test].compute(pair, EVIDENTLY)
        return outcome.statistic, outcome.p_value

    ks = stats.ks_2samp(ref, cur)
    assert run("ks") == pytest.approx((ks.statistic, ks.pvalue), **CLOSE)
    cvm = stats.cramervonmises_2samp(ref, cur)
    assert run("cramer_von_mises") == pytest.approx((cvm.statistic, cvm.pvalue), **CLOSE)
    mw = stats.mannwhitneyu(ref, cur, alternative="less")
    assert run("mannw") == pytest.approx((mw.statistic, mw.pvalue), **CLOSE)
    tt = stats.ttest_ind(ref, cur)
    assert run("t_test") == pytest.approx((tt.statistic, tt.pvalue), **CLOSE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy: p-value capped, midrank renamed
        ad = stats.anderson_ksamp([ref, cur])
    assert run("anderson") == pytest.approx((ad.statistic, ad.pvalue), **CLOSE)
    assert run("energy")[0] == pytest.approx(stats.energy_distance(ref, cur), **CLOSE)
    normed = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    assert run("wasserstein")[0] == pytest.approx(normed, **CLOSE)


@pytest.mark.parametrize("name", list(NUMERICAL))
def test_raw_wasserstein_equals_scipy(name: str) -> None:
    ref, cur = NUMERICAL[name]
    raw = TestParameters(wasserstein_norm=WassersteinNorm.NONE)
    outcome = STATTESTS["wasserstein"].compute(_pair(name), raw)
    assert outcome.statistic == pytest.approx(stats.wasserstein_distance(ref, cur), **CLOSE)


@pytest.mark.parametrize("name", list(NUMERICAL))
def test_binned_distances_equal_their_formulas(name: str) -> None:
    ref, cur = NUMERICAL[name]
    pair = _pair(name)
    r, c = _sturges_shares(ref, cur)
    js = STATTESTS["jensenshannon"].compute(pair, EVIDENTLY).statistic
    assert js == pytest.approx(distance.jensenshannon(r, c), **CLOSE)
    rf, cf = _evidently_fill(r), _evidently_fill(c)
    psi = STATTESTS["psi"].compute(pair, EVIDENTLY).statistic
    assert psi == pytest.approx(float(np.sum((rf - cf) * np.log(rf / cf))), **CLOSE)
    kl = STATTESTS["kl_div"].compute(pair, EVIDENTLY).statistic
    assert kl == pytest.approx(stats.entropy(rf, cf), **CLOSE)


def test_log_base_and_divergence_options() -> None:
    ref, cur = NUMERICAL["normal"]
    pair = _pair("normal")
    r, c = _sturges_shares(ref, cur)
    base2 = TestParameters(log_base=2.0)
    js2 = STATTESTS["jensenshannon"].compute(pair, base2).statistic
    assert js2 == pytest.approx(distance.jensenshannon(r, c, base=2), **CLOSE)
    divergence = TestParameters(js_output=JsOutput.DIVERGENCE)
    jsd = STATTESTS["jensenshannon"].compute(pair, divergence).statistic
    assert jsd == pytest.approx(distance.jensenshannon(r, c) ** 2, **CLOSE)
    rf, cf = _evidently_fill(r), _evidently_fill(c)
    kl2 = STATTESTS["kl_div"].compute(pair, base2).statistic
    assert kl2 == pytest.approx(stats.entropy(rf, cf, base=2), **CLOSE)


def test_fixed_empty_bin_fill_and_equal_width_bins() -> None:
    ref, cur = NUMERICAL["skewed"]
    parameters = TestParameters(
        binning=Binning(rule=BinningRule.EQUAL_WIDTH, bins=10, empty_bin_fill=EmptyBinFill(0.001))
    )
    edges = np.linspace(min(ref.min(), cur.min()), max(ref.max(), cur.max()), 11)
    r = np.histogram(ref, edges)[0] / len(ref)
    c = np.histogram(cur, edges)[0] / len(cur)
    r, c = np.where(r == 0, 0.001, r), np.where(c == 0, 0.001, c)
    psi = STATTESTS["psi"].compute(_pair("skewed"), parameters).statistic
    assert psi == pytest.approx(float(np.sum((r - c) * np.log(r / c))), **CLOSE)


def test_doane_binning_puts_unseen_range_in_a_leftover_bin() -> None:
    rng = np.random.default_rng(13)
    ref, cur = rng.normal(size=3000), rng.normal(0.5, 1.5, size=2000)
    parameters = DriftOptions(preset=Preset.NANNYML).parameters()
    edges = np.histogram_bin_edges(ref, bins="doane")
    r = np.append(np.histogram(ref, edges)[0] / len(ref), 0.0)
    inside = np.histogram(cur, edges)[0]
    c = np.append(inside / len(cur), (len(cur) - inside.sum()) / len(cur))
    pair = ColumnPair(ref, cur, ColumnKind.NUMERICAL)
    js = STATTESTS["jensenshannon"].compute(pair, parameters).statistic
    assert js == pytest.approx(distance.jensenshannon(r, c, base=2), **CLOSE)
    hellinger = STATTESTS["hellinger"].compute(pair, parameters).statistic
    expected = np.sqrt(np.sum((np.sqrt(r) - np.sqrt(c)) ** 2)) / np.sqrt(2)
    assert hellinger == pytest.approx(expected, **CLOSE)


def test_categorical_tests_equal_their_formulas() -> None:
    pair = _categorical_pair()
    keys = sorted(set(pair.reference) | set(pair.current))
    ref_counts = np.array([np.sum(pair.reference == k) for k in keys], dtype=float)
    cur_counts = np.array([np.sum(pair.current == k) for k in keys], dtype=float)
    n_ref, n_cur = len(pair.reference), len(pair.current)
    r, c = ref_counts / n_ref, cur_counts / n_cur

    chi = STATTESTS["chisquare"].compute(pair, EVIDENTLY)
    assert chi.statistic == math.inf and chi.p_value == 0.0  # "f" is unseen
    seen = ref_counts > 0
    observed = cur_counts[seen]
    only_seen = ColumnPair(
        pair.reference, pair.current[pair.current != "f"], ColumnKind.CATEGORICAL
    )
    chi_seen = STATTESTS["chisquare"].compute(only_seen, EVIDENTLY)
    expected = ref_counts[seen] * observed.sum() / n_ref
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    assert chi_seen.statistic == pytest.approx(statistic, **CLOSE)
    assert chi_seen.p_value == pytest.approx(stats.chi2.sf(statistic, seen.sum() - 1), **CLOSE)

    p1, p2 = 1 - r[0], 1 - c[0]  # split on the first sorted key, "a"
    pooled = (p1 * n_ref + p2 * n_cur) / (n_ref + n_cur)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur))
    outcome = STATTESTS["z"].compute(pair, EVIDENTLY)
    assert (outcome.statistic, outcome.p_value) == pytest.approx(
        (z, 2 * stats.norm.sf(abs(z))), **CLOSE
    )

    js = STATTESTS["jensenshannon"].compute(pair, EVIDENTLY).statistic
    assert js == pytest.approx(distance.jensenshannon(r, c), **CLOSE)
    hellinger = STATTESTS["hellinger"].compute(pair, EVIDENTLY).statistic
    assert hellinger == pytest.approx(math.sqrt(1 - np.sum(np.sqrt(r * c))), **CLOSE)
    l_inf = STATTESTS["l_infinity"].compute(pair, EVIDENTLY).statistic
    assert l_inf == pytest.approx(float(np.max(np.abs(r - c))), **CLOSE)
    rf, cf = _evidently_fill(r), _evidently_fill(c)
    psi = STATTESTS["psi"].compute(pair, EVIDENTLY).statistic
    assert psi == pytest.approx(float(np.sum((rf - cf) * np.log(rf / cf))), **CLOSE)


def test_empirical_mmd_statistic_equals_the_kernel_formula() -> None:
    ref, cur = NUMERICAL["normal"]
    ref, cur = ref[:300], cur[:200]
    outcome = STATTESTS["empirical_mmd"].compute(
        ColumnPair(ref, cur, ColumnKind.NUMERICAL), EVIDENTLY
    )
    squared = distance.cdist(ref[:, None], ref[:, None], "sqeuclidean")
    sigma = math.sqrt(0.5 * np.percentile(squared, 50, method="nearest"))

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-distance.cdist(a[:, None], b[:, None], "sqeuclidean") / (2 * sigma**2))

    n, m = len(ref), len(cur)
    kxx, kyy = kernel(ref, ref), kernel(cur, cur)
    mmd = (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * kernel(ref, cur).mean()
    )
    assert outcome.statistic == pytest.approx(mmd, **CLOSE)
    assert outcome.p_value is not None and 0.0 <= outcome.p_value <= 1.0
