"""Data quality of current rows against a reference: missing values, type
mismatches, values outside the reference range, unseen categories; rules and the
alerts they raise."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from monitorx.analysis.quality.data_quality import (
    DataQualityRules,
    analyze_data_quality,
    data_quality_breaches,
)
from monitorx.core import AlertType, Severity, ValidationError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
REFERENCE = {
    "amount": np.array([10.0, 20.0, 30.0, np.nan]),
    "country": np.array(["fr", "de", "fr", None], dtype=object),
}


def test_numerical_feature_counts_missing_mismatched_and_out_of_range_rows() -> None:
    current = {
        "amount": np.array([5.0, 15.0, None, "abc", 31.0, 30.0, True, 10.0], dtype=object),
        "country": np.array(["fr"] * 8, dtype=object),
    }
    report = analyze_data_quality("m", REFERENCE, current)
    amount = report.features[0]
    assert amount.kind == "numerical"
    assert amount.missing_share == pytest.approx(1 / 8)
    # "abc" and a boolean are of the wrong kind; they are not range-checked.
    assert amount.type_mismatch_share == pytest.approx(2 / 8)
    # 5 is below the reference minimum 10, 31 above its maximum 30.
    assert amount.out_of_range_share == pytest.approx(2 / 8)
    assert (amount.reference_min, amount.reference_max) == (10.0, 30.0)


def test_categorical_feature_lists_new_categories_most_frequent_first() -> None:
    current = {
        "amount": np.array([10.0] * 6),
        "country": np.array(["fr", "us", "us", "it", None, 3], dtype=object),
    }
    country = analyze_data_quality("m", REFERENCE, current).features[1]
    assert country.new_category_share == pytest.approx(3 / 6)
    assert country.new_categories == (("us", 2), ("it", 1))
    assert country.missing_share == pytest.approx(1 / 6)
    assert country.type_mismatch_share == pytest.approx(1 / 6)


def test_absent_feature_is_missing_everywhere_and_extra_features_are_listed() -> None:
    current = {"amount": np.array([10.0, 11.0]), "extra": np.array(["x", "y"], dtype=object)}
    report = analyze_data_quality("m", REFERENCE, current)
    assert report.features[1].missing_share == 1.0
    assert report.unexpected_features == ("extra",)
    assert report.to_json()["current_rows"] == 2


def test_no_current_rows_gives_undefined_shares_not_nan() -> None:
    empty = {"amount": np.array([], dtype=np.float64)}
    report = analyze_data_quality("m", REFERENCE, empty)
    assert report.features[0].missing_share is None
    assert data_quality_breaches(report, DataQualityRules({"missing_share": 0.0}), NOW) == []


def test_rules_raise_one_labelled_breach_per_feature_and_check() -> None:
    current = {
        "amount": np.array([np.nan, np.nan, 15.0, 100.0]),
        "country": np.array(["fr", "fr", "fr", "fr"], dtype=object),
    }
    report = analyze_data_quality("m", REFERENCE, current)
    rules = DataQualityRules.from_json(
        {"default": {"missing_share": 0.1}, "features": {"amount": {"out_of_range_share": 0.2}}}
    )
    breaches = data_quality_breaches(report, rules, NOW)
    by_check = {b.labels["check"]: b for b in breaches}
    assert set(by_check) == {"missing_share", "out_of_range_share"}
    missing = by_check["missing_share"]
    assert missing.alert_type is AlertType.QUALITY
    assert missing.labels == {"quality": "data", "feature": "amount", "check": "missing_share"}
    assert missing.value == pytest.approx(0.5)
    assert missing.severity is Severity.CRITICAL  # 0.5 / 0.1 = 5x the limit
    assert by_check["out_of_range_share"].value == pytest.approx(0.25)
    assert by_check["out_of_range_share"].severity is Severity.MEDIUM  # 0.25 / 0.2 = 1.25


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"default": {"missing": 0.1}}, "default.missing"),
        ({"default": {"missing_share": 1.5}}, "default.missing_share"),
        ({"features": {"a": {"missing_share": "x"}}}, "features.a.missing_share"),
        ({"other": {}}, "other"),
        ({"window": "0s"}, "window"),
        ([], "body"),
    ],
)
def test_bad_rules_name_the_field(body: object, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        DataQualityRules.from_json(body)
    assert raised.value.errors[0].field == field
