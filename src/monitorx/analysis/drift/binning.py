"""Turning a column into shares per bin, the step where drift tools disagree most.

The distance tests on distributions (``jensenshannon``, ``psi``, ``kl_div``,
``hellinger``) compare two vectors of shares, one per bin. How the bins are made
is an explicit `Binning`:

- `BinningRule.STURGES_COMBINED` (Evidently's ``get_binned_data``): equal-width
  bins over the range of reference and current together, as many as
  ``np.histogram_bin_edges(..., bins="sturges")`` gives (about log2(n) + 1).
- `BinningRule.DOANE_REFERENCE` (NannyML): Doane's rule on the reference alone;
  current values outside the reference's range go to one extra "leftover" bin
  whose reference share is 0. Categories: the reference's categories plus one
  leftover bin for the categories it never saw.
- `BinningRule.EQUAL_WIDTH`: ``bins`` equal-width bins over the combined range.

A numerical column whose reference has at most ``per_value_max_unique`` distinct
values is not binned by range: each distinct value of either side is its own bin
(Evidently: 20; NannyML: 0, never). Categorical columns always get one bin per
category (the union of both sides, or the reference's plus a leftover with Doane).

Shares are counts divided by the side's non-null rows. Empty bins make ``psi``
and ``kl_div`` infinite, so those two replace a zero share with `EmptyBinFill`'s
value first (Jensen–Shannon and Hellinger are finite with zeros and take no fill).
"""

from __future__ import annotations

__all__ = [
    "EVIDENTLY_FILL",
    "Binning",
    "BinningRule",
    "EmptyBinFill",
    "binned_shares",
    "fill_empty_bins",
]

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from monitorx.analysis.drift.samples import ColumnKind, ColumnPair

FloatArray = npt.NDArray[np.float64]

# Evidently's zero fill: a zero share becomes 1e-4, or the side's smallest
# non-zero share divided by 1e6 when that share is itself at most 1e-4
# (`get_binned_data(feel_zeroes=True)`), computed for each side separately.
EVIDENTLY_FILL = "evidently"
_EVIDENTLY_FLOOR = 1e-4
_EVIDENTLY_DIVISOR = 1e6


class BinningRule(StrEnum):
    STURGES_COMBINED = "sturges_combined"
    DOANE_REFERENCE = "doane_reference"
    EQUAL_WIDTH = "equal_width"


@dataclass(frozen=True, slots=True)
class EmptyBinFill:
    """What a zero share becomes before ``psi`` and ``kl_div``: Evidently's rule
    (``share is None``) or a fixed share (``0.0`` leaves zeros, so a bin empty on
    one side only gives an infinite statistic)."""

    share: float | None = None

    def apply(self, shares: FloatArray) -> FloatArray:
        return fill_empty_bins(shares, self.share)


@dataclass(frozen=True, slots=True)
class Binning:
    """How numerical columns are cut into bins (see the module docstring)."""

    rule: BinningRule = BinningRule.STURGES_COMBINED
    bins: int = 10
    per_value_max_unique: int = 20
    empty_bin_fill: EmptyBinFill = EmptyBinFill()


def fill_empty_bins(shares: FloatArray, share: float | None) -> FloatArray:
    """`shares` with every zero replaced: by `share`, or by Evidently's rule when
    `share` is None. A side with no non-zero share is returned unchanged."""
    zero = shares == 0
    if not zero.any():
        return shares
    if share is None:
        nonzero = shares[~zero]
        if len(nonzero) == 0:
            return shares
        smallest = float(nonzero.min())
        share = smallest / _EVIDENTLY_DIVISOR if smallest <= _EVIDENTLY_FLOOR else _EVIDENTLY_FLOOR
    filled = shares.copy()
    filled[zero] = share
    return filled


def binned_shares(pair: ColumnPair, binning: Binning) -> tuple[FloatArray, FloatArray]:
    """The reference's and the current's share of rows in each bin (no fill)."""
    n_ref, n_cur = len(pair.reference), len(pair.current)
    if binning.rule is BinningRule.DOANE_REFERENCE:
        if pair.kind is ColumnKind.CATEGORICAL or not pair.reference_has_more_unique_than(
            binning.per_value_max_unique
        ):
            return _reference_categories_with_leftover(pair)
        edges = np.histogram_bin_edges(pair.reference, bins="doane")
        ref_counts = np.histogram(pair.reference, edges)[0]
        cur_counts = np.histogram(pair.current, edges)[0]
        leftover = n_cur - int(cur_counts.sum())
        return (
            np.append(ref_counts / n_ref, 0.0),
            np.append(cur_counts / n_cur, leftover / n_cur),
        )
    if pair.kind is ColumnKind.CATEGORICAL or not pair.reference_has_more_unique_than(
        binning.per_value_max_unique
    ):
        counts = pair.counts
        return counts.reference / n_ref, counts.current / n_cur
    both = np.concatenate((pair.reference, pair.current))
    if binning.rule is BinningRule.STURGES_COMBINED:
        edges = np.histogram_bin_edges(both, bins="sturges")
    else:
        edges = np.histogram_bin_edges(both, bins=binning.bins)
    return (
        np.histogram(pair.reference, edges)[0] / n_ref,
        np.histogram(pair.current, edges)[0] / n_cur,
    )


def _reference_categories_with_leftover(pair: ColumnPair) -> tuple[FloatArray, FloatArray]:
    counts = pair.counts
    seen = counts.reference > 0
    n_ref, n_cur = len(pair.reference), len(pair.current)
    leftover = float(counts.current[~seen].sum())
    return (
        np.append(counts.reference[seen] / n_ref, 0.0),
        np.append(counts.current[seen] / n_cur, leftover / n_cur),
    )
