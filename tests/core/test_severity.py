"""API.md's severity bands, at their edges."""

from __future__ import annotations

import pytest

from monitorx.core import Severity
from monitorx.core.severity import severity_for_confidence, severity_for_ratio


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100.01, Severity.LOW),
        (124.99, Severity.LOW),
        (125.0, Severity.MEDIUM),
        (149.99, Severity.MEDIUM),
        (150.0, Severity.HIGH),
        (199.99, Severity.HIGH),
        (200.0, Severity.CRITICAL),
        (10_000.0, Severity.CRITICAL),
    ],
)
def test_ratio_bands(value: float, expected: Severity) -> None:
    assert severity_for_ratio(value, 100.0) is expected


def test_any_value_past_a_zero_threshold_is_critical() -> None:
    assert severity_for_ratio(0.001, 0.0) is Severity.CRITICAL


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        (0.5, Severity.LOW),
        (0.8499, Severity.LOW),
        (0.85, Severity.MEDIUM),
        (0.8999, Severity.MEDIUM),
        (0.9, Severity.HIGH),
        (0.9499, Severity.HIGH),
        (0.95, Severity.CRITICAL),
        (1.0, Severity.CRITICAL),
    ],
)
def test_confidence_bands(confidence: float, expected: Severity) -> None:
    assert severity_for_confidence(confidence) is expected
