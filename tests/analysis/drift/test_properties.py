"""Properties every statistic must keep, on samples hypothesis draws: symmetry
where the formula is symmetric, bounds, and invariance to the order of rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitorx.analysis.drift import (
    STATTESTS,
    Binning,
    BinningRule,
    ColumnKind,
    ColumnPair,
    DriftOptions,
    JsOutput,
    TestParameters,
    WassersteinNorm,
    analyze_columns,
)

EVIDENTLY = TestParameters()
RAW_WASSERSTEIN = TestParameters(wasserstein_norm=WassersteinNorm.NONE)
COMBINED_BINS = TestParameters(
    binning=Binning(rule=BinningRule.EQUAL_WIDTH, bins=12, per_value_max_unique=0)
)
NATS_JS_MAX = math.sqrt(math.log(2))

numbers = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-5, max_value=5).map(float),
    min_size=2,
    max_size=80,
).map(lambda v: np.asarray(v, dtype=np.float64))
categories = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=80).map(
    lambda v: np.asarray(v, dtype=object)
)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


def _numerical(ref: np.ndarray, cur: np.ndarray) -> ColumnPair:
    return ColumnPair(ref, cur, ColumnKind.NUMERICAL)


def _categorical(ref: np.ndarray, cur: np.ndarray) -> ColumnPair:
    return ColumnPair(ref, cur, ColumnKind.CATEGORICAL)


def _statistic(test: str, pair: ColumnPair, parameters: TestParameters = EVIDENTLY) -> float:
    return STATTESTS[test].compute(pair, parameters).statistic


@PROPERTY_SETTINGS
@given(numbers, numbers)
def test_symmetric_numerical_distances(ref: np.ndarray, cur: np.ndarray) -> None:
    forward, backward = _numerical(ref, cur), _numerical(cur, ref)
    for test in ("ks", "energy", "l_infinity"):
        assert math.isclose(
            _statistic(test, forward), _statistic(test, backward), rel_tol=1e-9, abs_tol=1e-9
        ), test
    # Evidently bins a numerical column by value or by range depending on the
    # reference's distinct values, which swapping changes; bins drawn from both
    # sides alike make the binned distances symmetric.
    for test in ("jensenshannon", "psi", "hellinger"):
        assert math.isclose(
            _statistic(test, forward, COMBINED_BINS),
            _statistic(test, backward, COMBINED_BINS),
            rel_tol=1e-9,
            abs_tol=1e-9,
        ), test
    assert math.isclose(
        _statistic("wasserstein", forward, RAW_WASSERSTEIN),
        _statistic("wasserstein", backward, RAW_WASSERSTEIN),
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


@PROPERTY_SETTINGS
@given(categories, categories)
def test_symmetric_categorical_distances(ref: np.ndarray, cur: np.ndarray) -> None:
    forward, backward = _categorical(ref, cur), _categorical(cur, ref)
    for test in ("jensenshannon", "hellinger", "psi", "l_infinity"):
        assert math.isclose(
            _statistic(test, forward), _statistic(test, backward), rel_tol=1e-9, abs_tol=1e-12
        ), test


@PROPERTY_SETTINGS
@given(numbers, numbers)
def test_bounds_of_numerical_statistics(ref: np.ndarray, cur: np.ndarray) -> None:
    pair = _numerical(ref, cur)
    assert 0.0 <= _statistic("ks", pair) <= 1.0
    assert 0.0 <= _statistic("jensenshannon", pair) <= NATS_JS_MAX + 1e-12
    base2 = TestParameters(log_base=2.0)
    assert 0.0 <= _statistic("jensenshannon", pair, base2) <= 1.0 + 1e-12
    divergence = TestParameters(js_output=JsOutput.DIVERGENCE)
    assert 0.0 <= _statistic("jensenshannon", pair, divergence) <= math.log(2) + 1e-12
    assert 0.0 <= _statistic("hellinger", pair) <= 1.0
    assert 0.0 <= _statistic("l_infinity", pair) <= 1.0
    for test in ("psi", "kl_div", "wasserstein", "energy"):
        assert _statistic(test, pair) >= -1e-12, test
    tests = ["ks", "cramer_von_mises", "mannw"]
    if len(np.unique(np.concatenate((ref, cur)))) > 1:
        tests.append("anderson")  # needs two distinct values
    for test in tests:
        p_value = STATTESTS[test].compute(pair, EVIDENTLY).p_value
        assert p_value is not None and 0.0 <= p_value <= 1.0, test


@PROPERTY_SETTINGS
@given(categories, categories)
def test_bounds_of_categorical_statistics(ref: np.ndarray, cur: np.ndarray) -> None:
    pair = _categorical(ref, cur)
    assert 0.0 <= _statistic("jensenshannon", pair) <= NATS_JS_MAX + 1e-12
    assert 0.0 <= _statistic("hellinger", pair) <= 1.0
    z = STATTESTS["z"].compute(pair, EVIDENTLY).p_value
    assert z is not None and 0.0 <= z <= 1.0
    chisquare = STATTESTS["chisquare"].compute(pair, EVIDENTLY).p_value
    assert chisquare is not None
    if pair.n_unique > 1:
        assert 0.0 <= chisquare <= 1.0
    else:  # no degree of freedom: undefined, shown as null, never drift
        assert math.isnan(chisquare)


@PROPERTY_SETTINGS
@given(numbers, numbers, st.randoms(use_true_random=False))
def test_row_order_does_not_change_any_numerical_outcome(
    ref: np.ndarray, cur: np.ndarray, random: object
) -> None:
    rng = np.random.default_rng(abs(hash(random)) % 2**32)
    shuffled = _numerical(rng.permutation(ref), rng.permutation(cur))
    pair = _numerical(ref, cur)
    for name, test in STATTESTS.items():
        if name in ("empirical_mmd", "chisquare", "z"):
            continue  # permutation p-value; tests on counts are covered below
        if (
            name in ("anderson", "t_test", "cramer_von_mises")
            and len(np.unique(np.r_[ref, cur])) < 2
        ):
            continue
        a, b = test.compute(pair, EVIDENTLY), test.compute(shuffled, EVIDENTLY)
        assert math.isclose(a.statistic, b.statistic, rel_tol=1e-9, abs_tol=1e-9) or (
            math.isnan(a.statistic) and math.isnan(b.statistic)
        ), name
        if a.p_value is not None and b.p_value is not None and not math.isnan(a.p_value):
            assert math.isclose(a.p_value, b.p_value, rel_tol=1e-9, abs_tol=1e-12), name


@PROPERTY_SETTINGS
@given(categories, categories)
def test_row_order_does_not_change_any_categorical_outcome(
    ref: np.ndarray, cur: np.ndarray
) -> None:
    pair = _categorical(ref, cur)
    reversed_pair = _categorical(ref[::-1].copy(), cur[::-1].copy())
    for name, test in STATTESTS.items():
        if not test.applies_to(ColumnKind.CATEGORICAL):
            continue
        a, b = test.compute(pair, EVIDENTLY), test.compute(reversed_pair, EVIDENTLY)
        assert math.isclose(a.statistic, b.statistic, rel_tol=1e-9, abs_tol=1e-12) or (
            a.statistic == b.statistic
        ), name
        assert (
            a.p_value == b.p_value
            or math.isclose(a.p_value or 0, b.p_value or 0, abs_tol=1e-12)
            or (math.isnan(a.p_value or 0) and math.isnan(b.p_value or 0))
        ), name


@PROPERTY_SETTINGS
@given(numbers)
def test_a_sample_against_itself_shows_no_drift(values: np.ndarray) -> None:
    pair = _numerical(values, values.copy())
    for test in ("wasserstein", "jensenshannon", "psi", "kl_div", "hellinger", "energy", "ks"):
        # Hellinger is √(1 − Σ√(r·c)): rounding of the sum near 1 leaves ~1e-8.
        assert abs(_statistic(test, pair)) <= (1e-7 if test == "hellinger" else 1e-9), test
        assert not STATTESTS[test].rule.drifted(STATTESTS[test].compute(pair, EVIDENTLY), 0.1)


sparse_numbers = st.lists(
    st.sampled_from([0.0, 1.0, -2.5, 1e300, -1e-300, math.nan, math.inf]) | st.floats(),
    min_size=0,
    max_size=30,
).map(lambda v: np.asarray(v, dtype=np.float64))
sparse_categories = st.lists(
    st.sampled_from(["a", "b", "", "é", None]), min_size=0, max_size=30
).map(lambda v: np.asarray(v, dtype=object))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's precision notices
@settings(max_examples=40, deadline=None)
@given(sparse_numbers, sparse_numbers, sparse_categories, sparse_categories)
def test_any_column_gives_a_report_and_never_an_error(
    ref: np.ndarray, cur: np.ndarray, ref_cat: np.ndarray, cur_cat: np.ndarray
) -> None:
    """Nulls only, one value, constants, extreme magnitudes: every test answers a
    finite number or null, never an exception (the endpoint must not 500)."""
    for name, test in STATTESTS.items():
        reference: dict[str, np.ndarray] = {"x": ref}
        current: dict[str, np.ndarray] = {"x": cur}
        if test.applies_to(ColumnKind.CATEGORICAL):
            reference["c"], current["c"] = ref_cat, cur_cat
        report = analyze_columns("any", reference, current, DriftOptions(stattest=name))
        for feature in report.features:
            for value in (feature.statistic, feature.p_value):
                assert value is None or math.isfinite(value), (name, feature)
