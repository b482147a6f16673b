"""Burn rates and the SRE workbook's multiwindow, multi-burn-rate alert table.

The **burn rate** over a window is the observed bad ratio divided by the allowed
one, (bad / N) / (1 − target): at burn rate 1 the budget lasts exactly the SLO
window, at 14.4 a 30-day budget is gone in 50 hours. The **error budget** is the
number of bad requests allowed, (1 − target)·N; the share of it left is
1 − bad / allowed, which goes negative once the SLO is broken.

A condition fires when the burn rate is strictly above its factor over **both** its
long window and its short window; the table and how it scales with the SLO window
are in `monitorx.alerting.slo.objective`'s docstring.
"""

from __future__ import annotations

__all__ = [
    "WORKBOOK_SLO_WINDOW_S",
    "WORKBOOK_WINDOWS",
    "AlertKind",
    "BurnCondition",
    "BurnRateWindows",
    "BurnVerdict",
    "ErrorBudget",
    "WindowCounts",
    "burn_rate",
    "evaluate_burn",
    "scaled_windows",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

WORKBOOK_SLO_WINDOW_S = 30 * 86400.0


class AlertKind(StrEnum):
    """How urgent a firing condition is: wake someone, or open a ticket."""

    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True, slots=True)
class BurnRateWindows:
    """One row of the alert table: fire ``kind`` when the burn rate is above
    ``factor`` over both the long and the short window."""

    kind: AlertKind
    factor: float
    long_s: float
    short_s: float


WORKBOOK_WINDOWS: tuple[BurnRateWindows, ...] = (
    BurnRateWindows(AlertKind.PAGE, 14.4, 3600, 300),
    BurnRateWindows(AlertKind.PAGE, 6.0, 6 * 3600, 1800),
    BurnRateWindows(AlertKind.TICKET, 3.0, 86400, 2 * 3600),
    BurnRateWindows(AlertKind.TICKET, 1.0, 3 * 86400, 6 * 3600),
)


def scaled_windows(slo_window_s: float) -> tuple[BurnRateWindows, ...]:
    """The workbook's table for an SLO window of ``slo_window_s`` (see the module doc)."""
    scale = slo_window_s / WORKBOOK_SLO_WINDOW_S

    def scaled(seconds: float) -> float:
        return float(max(1, round(seconds * scale)))

    return tuple(
        BurnRateWindows(row.kind, row.factor, scaled(row.long_s), scaled(row.short_s))
        for row in WORKBOOK_WINDOWS
    )


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Requests in a window and how many of them were bad (fractional for
    availability, where a metric may carry an error share below 1)."""

    total: int
    bad: float

    @property
    def bad_ratio(self) -> float | None:
        """bad / total; None when the window holds no requests."""
        return None if self.total == 0 else self.bad / self.total

    @property
    def sli(self) -> float | None:
        """The good share, 1 − bad / total; None when there are no requests."""
        ratio = self.bad_ratio
        return None if ratio is None else 1.0 - ratio


def burn_rate(counts: WindowCounts, target: float) -> float | None:
    """(bad / total) / (1 − target); None when the window holds no requests."""
    ratio = counts.bad_ratio
    return None if ratio is None else ratio / (1.0 - target)


@dataclass(frozen=True, slots=True)
class ErrorBudget:
    """The budget over one window: bad requests allowed, spent, and the share left."""

    target: float
    total: int
    consumed: float

    @property
    def allowed(self) -> float:
        """(1 − target) × total."""
        return (1.0 - self.target) * self.total

    @property
    def remaining(self) -> float | None:
        """1 − consumed / allowed; negative once overspent; None with no requests."""
        return None if self.total == 0 else 1.0 - self.consumed / self.allowed

    @classmethod
    def of(cls, counts: WindowCounts, target: float) -> ErrorBudget:
        return cls(target, counts.total, counts.bad)


@dataclass(frozen=True, slots=True)
class BurnCondition:
    """One row of the table evaluated: the burn rates seen and whether it fires."""

    windows: BurnRateWindows
    long_rate: float | None
    short_rate: float | None

    @property
    def firing(self) -> bool:
        factor = self.windows.factor
        return (
            self.long_rate is not None
            and self.short_rate is not None
            and self.long_rate > factor
            and self.short_rate > factor
        )


@dataclass(frozen=True, slots=True)
class BurnVerdict:
    """Every condition of an SLO at one instant, in table order."""

    conditions: tuple[BurnCondition, ...]

    @property
    def firing(self) -> BurnCondition | None:
        """The most urgent firing condition (pages before tickets, faster burns
        first), or None when none fires."""
        for kind in (AlertKind.PAGE, AlertKind.TICKET):
            for condition in self.conditions:
                if condition.windows.kind is kind and condition.firing:
                    return condition
        return None


def evaluate_burn(
    windows: Sequence[BurnRateWindows], target: float, counts: Mapping[float, WindowCounts]
) -> BurnVerdict:
    """Evaluate each row with the counts of every window it names (by length in s)."""
    return BurnVerdict(
        tuple(
            BurnCondition(
                row,
                burn_rate(counts[row.long_s], target),
                burn_rate(counts[row.short_s], target),
            )
            for row in windows
        )
    )
