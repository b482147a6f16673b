"""Which label values explain an anomaly: over-represented among breaching points.

The points of a window are split into *breaching* (they violate the alert's rule:
a latency above the threshold, an error) and *normal* ones. For each label key
``k`` and value ``v``, with ``b`` breaching points of ``k=v`` among the ``B``
breaching points that carry ``k`` (``n`` and ``N`` likewise for normal ones):

- ``breach_share = b/B`` (coverage: how much of the trouble the value carries),
  ``normal_share = n/N``;
- ``excess = b/B − n/N``, the ranking: bounded, and it favours values that explain
  many breaches, where a raw ratio explodes for rare values;
- ``lift = q/p`` with the smoothed shares ``q = (b + ½)/(B + ½K)`` and
  ``p = (n + ½)/(N + ½K)`` (``K`` the key's distinct values), finite at zero counts;
- ``surprise``: the value's term of the Jensen–Shannon divergence between ``p`` and
  ``q`` (Adtributor's surprise, Bhagwan et al., NSDI 2014), the tie-break.

A value is kept when ``b ≥ MIN_SUPPORT`` (5), ``breach_share ≥ MIN_COVERAGE`` (0.10,
the role of Adtributor's T_EEP) and ``lift ≥ MIN_LIFT`` (1.5); keys with one value
only or more than ``MAX_VALUES`` (200) in the window are skipped. This is the
"over-represented among the bad vs the rest" statistic of Datadog's Watchdog
Insights, with Adtributor's surprise and support floor; it counts points, so it
works for rates and percentiles where Adtributor's additive explanatory power
does not.
"""

from __future__ import annotations

__all__ = [
    "MAX_VALUES",
    "MIN_COVERAGE",
    "MIN_LIFT",
    "MIN_SUPPORT",
    "LabelCounts",
    "LabelHint",
    "rank_labels",
]

import math
from collections.abc import Iterable
from dataclasses import dataclass

MIN_SUPPORT = 5
MIN_COVERAGE = 0.10
MIN_LIFT = 1.5
MAX_VALUES = 200
SHOWN = 5


@dataclass(frozen=True, slots=True)
class LabelCounts:
    """Breaching and normal points of one label value."""

    label: str
    value: str
    breaching: int
    normal: int


@dataclass(frozen=True, slots=True)
class LabelHint:
    label: str
    value: str
    breach_share: float
    normal_share: float
    breaching: int
    breaching_total: int
    normal: int
    normal_total: int
    lift: float
    surprise: float

    @property
    def excess(self) -> float:
        return self.breach_share - self.normal_share

    def to_json(self) -> dict[str, object]:
        return {
            "label": self.label,
            "value": self.value,
            "breach_share": round(self.breach_share, 4),
            "normal_share": round(self.normal_share, 4),
            "breaching_points": self.breaching,
            "breaching_total": self.breaching_total,
            "normal_points": self.normal,
            "normal_total": self.normal_total,
            "lift": round(self.lift, 3),
            "surprise": round(self.surprise, 4),
        }

    def sentence(self) -> str:
        """One line: ``region=eu: 100% of breaching points vs 9% of normal (×8.4; 40 of 40)``."""
        return (
            f"{self.label}={self.value}: {self.breach_share:.0%} of breaching points vs "
            f"{self.normal_share:.0%} of normal (×{self.lift:.1f}; "
            f"{self.breaching} of {self.breaching_total})"
        )


def _surprise(p: float, q: float) -> float:
    total = 0.0
    for a in (p, q):
        if a > 0:
            total += a * math.log2(2 * a / (p + q))
    return total / 2


def rank_labels(counts: Iterable[LabelCounts], shown: int = SHOWN) -> list[LabelHint]:
    """The label values that explain the breaches, best first (see the module
    docstring), at most ``shown``."""
    by_key: dict[str, list[LabelCounts]] = {}
    for c in counts:
        by_key.setdefault(c.label, []).append(c)
    hints: list[LabelHint] = []
    for label, values in by_key.items():
        k = len(values)
        if k < 2 or k > MAX_VALUES:
            continue
        total_b = sum(v.breaching for v in values)
        total_n = sum(v.normal for v in values)
        if total_b == 0:
            continue
        for v in values:
            coverage = v.breaching / total_b
            normal_share = v.normal / total_n if total_n else 0.0
            q = (v.breaching + 0.5) / (total_b + 0.5 * k)
            p = (v.normal + 0.5) / (total_n + 0.5 * k)
            lift = q / p
            if v.breaching < MIN_SUPPORT or coverage < MIN_COVERAGE or lift < MIN_LIFT:
                continue
            hints.append(
                LabelHint(
                    label,
                    v.value,
                    coverage,
                    normal_share,
                    v.breaching,
                    total_b,
                    v.normal,
                    total_n,
                    lift,
                    _surprise(p, q),
                )
            )
    hints.sort(key=lambda h: (-h.excess, -h.surprise, h.label, h.value))
    return hints[:shown]
