"""How bad a breach is, by API.md's bands."""

from __future__ import annotations

__all__ = ["severity_for_confidence", "severity_for_ratio"]

from monitorx.core.alerts import Severity

# value / threshold below each bound gives that severity; at or past the last, critical.
RATIO_BANDS = ((1.25, Severity.LOW), (1.5, Severity.MEDIUM), (2.0, Severity.HIGH))
# drift confidence below each bound gives that severity.
CONFIDENCE_BANDS = ((0.85, Severity.LOW), (0.9, Severity.MEDIUM), (0.95, Severity.HIGH))


def severity_for_ratio(value: float, threshold: float) -> Severity:
    """Severity of ``value`` past ``threshold``: ratio < 1.25 low, < 1.5 medium, < 2 high."""
    if threshold <= 0:
        # Any positive value is infinitely far past a zero threshold.
        return Severity.CRITICAL
    ratio = value / threshold
    for bound, severity in RATIO_BANDS:
        if ratio < bound:
            return severity
    return Severity.CRITICAL


def severity_for_confidence(confidence: float) -> Severity:
    """Drift severity: confidence < 0.85 low, < 0.9 medium, < 0.95 high, else critical."""
    for bound, severity in CONFIDENCE_BANDS:
        if confidence < bound:
            return severity
    return Severity.CRITICAL
