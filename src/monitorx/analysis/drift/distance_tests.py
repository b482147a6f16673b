"""Distances between the reference's and the current's distributions.

With r and c the binned shares (`binning.binned_shares`) and ``log`` in the
chosen base (natural by default) — scipy is imported by each test when it first
runs, so an idle server does without it:

- ``jensenshannon``: m = (r + c)/2, JSD = ½ Σ r·log(r/m) + ½ Σ c·log(c/m); the
  distance √JSD (Evidently, NannyML) or JSD itself (`JsOutput.DIVERGENCE`). No
  empty-bin fill. Range [0, √ln 2 ≈ 0.833] in nats, [0, 1] in base 2.
- ``psi``: Σ (r − c)·log(r/c) after the empty-bin fill.
- ``kl_div``: Σ r·log(r/c) after the empty-bin fill (``scipy.stats.entropy``,
  which renormalises each side to sum 1).
- ``hellinger``: √(1 − Σ √(r·c)), the Bhattacharyya sum clipped to [0, 1]. With
  Evidently's binning, categories are their own bins and numerical columns get
  Sturges bins over the *distinct* values of both sides (Evidently's own rule for
  this test). The other binning rules use the shared bins and NannyML's form
  ‖√r − √c‖₂ / √2, the same number when both sides sum to 1.
- ``wasserstein``: ``scipy.stats.wasserstein_distance(ref, cur)``, divided by
  max(np.std(ref), 0.001) when normed (Evidently); NannyML's binned estimate for
  references of 10,000 rows and more under the ``nannyml`` preset.
- ``energy``: ``scipy.stats.energy_distance(ref, cur)`` (Evidently's ``ed``).
- ``l_infinity`` (NannyML, categorical): max over categories of |r − c|.
"""

from __future__ import annotations

__all__ = [
    "WASSERSTEIN_MIN_NORM",
    "energy",
    "hellinger",
    "jensenshannon",
    "kl_div",
    "l_infinity",
    "psi",
    "wasserstein",
]

import math

import numpy as np
import numpy.typing as npt

from monitorx.analysis.drift.binning import BinningRule, binned_shares
from monitorx.analysis.drift.nannyml_estimates import estimated_wasserstein
from monitorx.analysis.drift.outcome import JsOutput, TestOutcome, TestParameters, WassersteinNorm
from monitorx.analysis.drift.samples import ColumnKind, ColumnPair

FloatArray = npt.NDArray[np.float64]

# Evidently floors the reference's standard deviation at this, so that a constant
# reference does not divide by zero.
WASSERSTEIN_MIN_NORM = 0.001


def jensenshannon(pair: ColumnPair, parameters: TestParameters) -> TestOutcome:
    from scipy import special

    ref, cur = binned_shares(pair, parameters.binning)
    ref, cur = ref / ref.sum(), cur / cur.sum()
    middle = (ref + cur) / 2.0
    divergence = float(special.rel_entr(ref, middle).sum() + special.rel_entr(cur, middle).sum())
    divergence = max(divergence / 2.0 / _log_of_base(parameters), 0.0)
    if parameters.js_output is JsOutput.DIVERGENCE:
        return TestOutcome(divergence)
    return TestOutcome(math.sqrt(divergence))


def psi(pair: ColumnPair, parameters: TestParameters) -> TestOutcome:
    ref, cur = _filled_shares(pair, parameters)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.sum((ref - cur) * np.log(ref / cur)))
    return TestOutcome(value / _log_of_base(parameters))


def kl_div(pair: ColumnPair, parameters: TestParameters) -> TestOutcome:
    from scipy import stats

    ref, cur = _filled_shares(pair, parameters)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(stats.entropy(ref, cur))
    return TestOutcome(value / _log_of_base(parameters))


def hellinger(pair: ColumnPair, parameters: TestParameters) -> TestOutcome:
    if parameters.binning.rule is BinningRule.STURGES_COMBINED:
        if pair.kind is ColumnKind.NUMERICAL:
            # Evidently sums √(density_r · density_c) · width over equal-width
            # bins, which is Σ √(r · c) on the bins' shares (without dividing
            # by widths that can underflow).
            keys = np.asarray(pair.counts.keys, dtype=np.float64)
            edges = np.histogram_bin_edges(keys, bins="sturges")
            ref = np.histogram(pair.reference, edges)[0] / len(pair.reference)
            cur = np.histogram(pair.current, edges)[0] / len(pair.current)
        else:
            counts = pair.counts
            ref = counts.reference / len(pair.reference)
            cur = counts.current / len(pair.current)
    else:
        # NannyML's form, ‖√r − √c‖₂ / √2: equal to the other when both sides
        # sum to 1, and exact to the last digit near 0.
        ref, cur = binned_shares(pair, parameters.binning)
        gap = float(np.sqrt(np.sum((np.sqrt(ref) - np.sqrt(cur)) ** 2)) / math.sqrt(2))
        return TestOutcome(gap)
    overlap = float(np.sum(np.sqrt(ref * cur)))
    return TestOutcome(math.sqrt(1.0 - min(max(overlap, 0.0), 1.0)))


def wasserstein(pair: ColumnPair, parameters: TestParameters) -> TestOutcome:
    limit = parameters.estimate_from_rows
    if limit is not None and len(pair.reference) >= limit:
        bins = parameters.estimate_bins
        distance = estimated_wasserstein(pair.reference, pair.current, bins)
    else:
        ref_sorted, cur_sorted = pair.sorted
        distance = _wasserstein_sorted(ref_sorted, cur_sorted)
    if parameters.wasserstein_norm is WassersteinNorm.REFERENCE_STD:
        distance /= max(float(np.std(pair.reference)), WASSERSTEIN_MIN_NORM)
    return TestOutcome(distance)


def energy(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    from scipy import stats

    return TestOutcome(float(stats.energy_distance(pair.reference, pair.current)))


def l_infinity(pair: ColumnPair, _: TestParameters) -> TestOutcome:
    counts = pair.counts
    ref = counts.reference / len(pair.reference)
    cur = counts.current / len(pair.current)
    return TestOutcome(float(np.max(np.abs(ref - cur))))


def _wasserstein_sorted(u: FloatArray, v: FloatArray) -> float:
    """scipy's ``wasserstein_distance(u, v)`` on already sorted samples, as the
    area between the two quantile functions: W1 = ∫₀¹ |Q_u(t) − Q_v(t)| dt.

    Q_u steps at t = i/n_u and Q_v at t = j/n_v. Scaled by n_u·n_v these steps
    are the integers i·n_v and j·n_u, two sorted runs that a stable sort merges in
    linear time; on each interval ending at step T, Q_u = u[⌈T/n_v⌉ − 1] and
    Q_v = v[⌈T/n_u⌉ − 1]. No value search, only integer arithmetic; equal to
    scipy's CDF-area sum up to rounding (the differential tests check 1e-12)."""
    n_u, n_v = len(u), len(v)
    if n_u == n_v:
        return float(np.abs(u - v).mean())
    steps = np.concatenate(
        (
            np.arange(1, n_u + 1, dtype=np.int64) * n_v,
            np.arange(1, n_v + 1, dtype=np.int64) * n_u,
        )
    )
    steps.sort(kind="stable")
    widths = np.diff(steps, prepend=0)
    at_u = (steps + n_v - 1) // n_v - 1
    at_v = (steps + n_u - 1) // n_u - 1
    return float((widths * np.abs(u[at_u] - v[at_v])).sum()) / (n_u * n_v)


def _filled_shares(pair: ColumnPair, parameters: TestParameters) -> tuple[FloatArray, FloatArray]:
    ref, cur = binned_shares(pair, parameters.binning)
    fill = parameters.binning.empty_bin_fill
    return fill.apply(ref), fill.apply(cur)


def _log_of_base(parameters: TestParameters) -> float:
    return 1.0 if parameters.log_base is None else math.log(parameters.log_base)
