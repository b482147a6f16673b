"""analyze_columns: the automatic choice of API.md, nulls, overrides and the report."""

from __future__ import annotations

import numpy as np
import pytest

from monitorx.analysis.drift import DriftOptions, Preset, analyze_columns
from monitorx.core import ValidationError

RNG_SEED = 7


def _numbers(values: list[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _categories(values: list[str | None] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


def _sample(kind: str, n_unique: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    values = rng.integers(0, n_unique, rows)
    values[:n_unique] = np.arange(n_unique)  # every value present
    if kind == "numerical":
        return values.astype(np.float64)
    return np.array([f"v{v}" for v in values], dtype=object)


@pytest.mark.parametrize(
    ("kind", "n_unique", "reference_rows", "expected", "threshold"),
    [
        ("numerical", 2, 1000, "z", 0.05),
        ("numerical", 3, 1000, "chisquare", 0.05),
        ("numerical", 5, 1000, "chisquare", 0.05),
        ("numerical", 6, 1000, "ks", 0.05),
        ("numerical", 2, 1001, "jensenshannon", 0.1),
        ("numerical", 5, 1001, "jensenshannon", 0.1),
        ("numerical", 6, 1001, "wasserstein", 0.1),
        ("categorical", 1, 1000, "z", 0.05),
        ("categorical", 2, 1000, "z", 0.05),
        ("categorical", 3, 1000, "chisquare", 0.05),
        ("categorical", 2, 1001, "jensenshannon", 0.1),
        ("categorical", 30, 1001, "jensenshannon", 0.1),
    ],
)
def test_automatic_choice_follows_the_api_table(
    kind: str, n_unique: int, reference_rows: int, expected: str, threshold: float
) -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference = {"f": _sample(kind, n_unique, reference_rows, rng)}
    current = {"f": _sample(kind, n_unique, 300, rng)}
    feature = analyze_columns("m", reference, current).features[0]
    assert (feature.stattest, feature.threshold, feature.kind) == (expected, threshold, kind)


def test_n_unique_counts_values_of_both_sides_together() -> None:
    # 3 values in the reference, 3 others in the current: 6 together, so ks.
    reference = {"f": _numbers([1, 2, 3] * 100)}
    current = {"f": _numbers([4, 5, 6] * 100)}
    assert analyze_columns("m", reference, current).features[0].stattest == "ks"


def test_reference_size_counts_null_rows_as_api_md_states() -> None:
    rng = np.random.default_rng(RNG_SEED)
    values = rng.normal(size=1001)
    values[:500] = np.nan  # 501 non-null rows, 1001 rows
    feature = analyze_columns("m", {"f": values}, {"f": rng.normal(size=400)}).features[0]
    assert feature.stattest == "wasserstein"


def test_nulls_are_dropped_before_the_test() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference, current = rng.normal(size=400), rng.normal(size=300)
    with_nulls = {"f": np.concatenate((reference, [np.nan] * 50, [np.inf]))}
    plain = analyze_columns("m", {"f": reference}, {"f": current}).features[0]
    nulls = analyze_columns("m", with_nulls, {"f": current}).features[0]
    assert nulls.p_value == plain.p_value and nulls.statistic == plain.statistic


def test_unseen_category_gives_null_chisquare_statistic_and_zero_p_value() -> None:
    reference = {"c": _categories(["a", "b", "c"] * 50)}
    current = {"c": _categories(["a", "b", "c", "d"] * 30)}
    feature = analyze_columns("m", reference, current).features[0]
    assert feature.stattest == "chisquare"
    assert feature.statistic is None and feature.p_value == 0.0 and feature.drifted


def test_share_drifted_and_dataset_drift_at_half() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference = {f"f{i}": rng.normal(size=500) for i in range(4)}
    current = {f"f{i}": rng.normal(loc=3.0 if i < 2 else 0.0, size=500) for i in range(4)}
    report = analyze_columns("fraud-v3", reference, current)
    assert report.share_drifted == 0.5 and report.dataset_drift
    body = report.to_json()
    assert body["model_id"] == "fraud-v3"
    assert (body["reference_rows"], body["current_rows"]) == (500, 500)
    assert [f["drifted"] for f in body["features"]] == [True, True, False, False]  # type: ignore[index, union-attr]
    assert set(body["features"][0]) == {  # type: ignore[index]
        "feature",
        "kind",
        "stattest",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
    }


def test_global_stattest_and_threshold_override_the_choice() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference = {"x": rng.normal(size=2000), "c": _sample("categorical", 3, 2000, rng)}
    current = {"x": rng.normal(size=500), "c": _sample("categorical", 3, 500, rng)}
    report = analyze_columns("m", reference, current, DriftOptions(stattest="ks", threshold=0.01))
    x, c = report.features
    assert (x.stattest, x.threshold) == ("ks", 0.01)
    # ks cannot test a categorical column: it keeps the automatic choice and threshold.
    assert (c.stattest, c.threshold) == ("jensenshannon", 0.1)


def test_per_column_options_win_and_must_fit_the_column() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference = {"x": rng.normal(size=200), "c": _sample("categorical", 3, 200, rng)}
    current = {"x": rng.normal(size=200), "c": _sample("categorical", 3, 200, rng)}
    options = DriftOptions(
        stattest="psi", per_column_stattest={"x": "anderson"}, per_column_threshold={"c": 0.3}
    )
    x, c = analyze_columns("m", reference, current, options).features
    assert (x.stattest, x.threshold) == ("anderson", 0.1)
    assert (c.stattest, c.threshold) == ("psi", 0.3)
    with pytest.raises(ValidationError) as error:
        analyze_columns("m", reference, current, DriftOptions(per_column_stattest={"c": "ks"}))
    assert error.value.errors[0].field == "per_column_stattest.c"


def test_per_column_options_for_columns_not_analyzed_are_ignored() -> None:
    # The server analyzes features, prediction and target separately with one
    # DriftOptions: per-column entries for the other analyses must not refuse.
    options = DriftOptions(per_column_stattest={"amount": "ks"}, per_column_threshold={"x": 0.3})
    reference = {"prediction": _numbers([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])}
    current = {"prediction": _numbers([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])}
    feature = analyze_columns("m", reference, current, options).features[0]
    assert (feature.stattest, feature.threshold) == ("ks", 0.05)


def test_column_without_values_is_reported_untested() -> None:
    reference = {"x": _numbers([1.0, 2.0, 3.0]), "c": _categories([None, None, None])}
    current = {"x": _numbers([np.nan, np.nan]), "c": _categories(["a", "b"])}
    x, c = analyze_columns("m", reference, current).features
    assert x.statistic is None and x.p_value is None and not x.drifted
    assert x.note == "no non-null value in the current"
    assert c.note == "no non-null value in the reference" and not c.drifted


def test_only_shared_columns_are_analyzed() -> None:
    reference = {"a": _numbers([1, 2, 3]), "b": _numbers([1, 2, 3])}
    current = {"b": _numbers([1, 2, 3]), "z": _numbers([1, 2, 3])}
    assert [f.feature for f in analyze_columns("m", reference, current).features] == ["b"]
    with pytest.raises(ValidationError):
        analyze_columns("m", {"a": _numbers([1.0])}, {"z": _numbers([1.0])})


def test_text_in_a_numerical_column_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as error:
        analyze_columns("m", {"x": _numbers([1, 2])}, {"x": _categories(["a", "b"])})
    assert error.value.errors[0].field == "x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stattest": "nope"}, "stattest"),
        ({"stattest": 3}, "stattest"),
        ({"threshold": "x"}, "threshold"),
        ({"threshold": -1}, "threshold"),
        ({"threshold": 1e400}, "threshold"),
        ({"preset": "other"}, "preset"),
        ({"binning": "fancy"}, "binning"),
        ({"bins": 0}, "bins"),
        ({"bins": True}, "bins"),
        ({"empty_bin_fill": 1.5}, "empty_bin_fill"),
        ({"empty_bin_fill": "zero"}, "empty_bin_fill"),
        ({"log_base": 1}, "log_base"),
        ({"js_output": "sqrt"}, "js_output"),
        ({"per_column_stattest": {"x": "nope"}}, "per_column_stattest.x"),
        ({"per_column_stattest": ["ks"]}, "per_column_stattest"),
        ({"per_column_threshold": {"x": "high"}}, "per_column_threshold.x"),
    ],
)
def test_options_from_json_name_the_bad_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        DriftOptions.from_json(body)
    assert error.value.errors[0].field == field


def test_options_from_json_ignores_the_callers_keys() -> None:
    options = DriftOptions.from_json(
        {"start": "2026-01-01T00:00:00Z", "stattest": "ed", "threshold": 0.2, "log_base": 2}
    )
    assert (options.stattest, options.threshold, options.log_base) == ("ed", 0.2, 2.0)


def test_options_given_as_plain_strings_mean_their_enums() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference, current = {"x": rng.normal(size=3000)}, {"x": rng.normal(size=500)}
    by_name = analyze_columns("m", reference, current, DriftOptions(preset="nannyml"))  # type: ignore[arg-type]
    by_enum = analyze_columns("m", reference, current, DriftOptions(preset=Preset.NANNYML))
    assert by_name == by_enum
    assert by_name.features[0].stattest == "jensenshannon"
    with pytest.raises(ValidationError) as error:
        DriftOptions(binning="fancy")  # type: ignore[arg-type]
    assert error.value.errors[0].field == "binning"
