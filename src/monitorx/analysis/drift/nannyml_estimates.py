"""NannyML's binned estimates of KS and Wasserstein for large references.

From 10,000 non-null reference rows up, NannyML does not compute KS and
Wasserstein exactly but from ``bins`` (10,000) equal-width bins over the
reference's range (``calculation_method="auto"``, ``nannyml/drift/univariate/methods.py``):

- KS: D = max |F_ref − F_cur| over the bins' upper edges, F_cur counting the
  current values below the reference's minimum too.
- Wasserstein: Σ |F_ref − F_cur| · bin width inside the range, plus, for current
  values below the reference's minimum (and likewise above its maximum), the area
  under their empirical CDF joined to the reference's minimum, weighted by
  (their count + 1) / n_cur — NannyML's own construction, reproduced as is.

The ``nannyml`` preset uses these so its numbers are NannyML's; every other
configuration computes both exactly.
"""

from __future__ import annotations

__all__ = ["estimated_ks", "estimated_wasserstein"]

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def estimated_ks(reference: FloatArray, current: FloatArray, bins: int) -> float:
    edges = np.linspace(np.min(reference), np.max(reference), bins + 1)
    reference_cdf = np.cumsum(np.histogram(reference, edges)[0] / len(reference))
    below = np.count_nonzero(current < edges[0]) / len(current)
    current_cdf = below + np.cumsum(np.histogram(current, edges)[0] / len(current))
    return float(np.max(np.abs(reference_cdf - current_cdf)))


def estimated_wasserstein(reference: FloatArray, current: FloatArray, bins: int) -> float:
    counts, edges = np.histogram(reference, bins=bins)
    reference_cdf = np.cumsum(counts / len(reference))
    width = edges[1] - edges[0]
    low, high = edges[0], edges[-1]
    n = len(current)
    smaller = current[current < low]
    bigger = current[current > high]
    term_smaller = share_smaller = 0.0
    if len(smaller) > 0:
        share_smaller = (len(smaller) + 1) / n
        x, y = _ecdf(np.concatenate((smaller, [low])))
        term_smaller = float(np.sum(y[:-1] * np.diff(x))) * share_smaller
    term_bigger = 0.0
    if len(bigger) > 0:
        share_bigger = (len(bigger) + 1) / n
        x, y = _ecdf(np.concatenate(([high], bigger)))
        term_bigger = float(np.sum((1 - y)[:-1] * np.diff(x))) * share_bigger
    current_cdf = np.cumsum(np.histogram(current, bins=edges)[0] / n) + share_smaller
    term_within = float(np.sum(np.abs(reference_cdf - current_cdf) * width))
    return term_within + term_smaller + term_bigger


def _ecdf(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    x, counts = np.unique(values, return_counts=True)
    return x, np.cumsum(counts) / len(values)
