"""What one test computes on one column, and the parameters every test reads."""

from __future__ import annotations

__all__ = ["JsOutput", "TestOutcome", "TestParameters", "WassersteinNorm"]

from dataclasses import dataclass, field
from enum import StrEnum

from monitorx.analysis.drift.binning import Binning


class JsOutput(StrEnum):
    """Jensen–Shannon as a distance (the square root, Evidently and NannyML) or as
    the divergence itself."""

    DISTANCE = "distance"
    DIVERGENCE = "divergence"


class WassersteinNorm(StrEnum):
    """Evidently divides the Wasserstein distance by the reference's standard
    deviation (``np.std``, floored at 0.001); NannyML reports it raw."""

    REFERENCE_STD = "reference_std"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class TestParameters:
    """The explicit choices that make tools disagree (see docs/drift.md).

    ``log_base`` is the base of the logarithm in ``jensenshannon``, ``kl_div`` and
    ``psi``; ``None`` is the natural logarithm (Evidently). ``mmd_max_rows`` caps
    each side of ``empirical_mmd``, whose kernel matrix grows with the square of
    the rows, by a seeded sample; ``seed`` drives that sample and the test's
    permutations. From ``estimate_from_rows`` non-null reference rows up, ``ks``
    and ``wasserstein`` are NannyML's estimates from ``estimate_bins`` bins
    (`nannyml_estimates`); ``None`` computes them exactly."""

    __test__ = False  # a parameter object, not a pytest class

    binning: Binning = field(default_factory=Binning)
    log_base: float | None = None
    js_output: JsOutput = JsOutput.DISTANCE
    wasserstein_norm: WassersteinNorm = WassersteinNorm.REFERENCE_STD
    mmd_max_rows: int = 1000
    seed: int = 0
    estimate_from_rows: int | None = None
    estimate_bins: int = 10_000


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """A test's statistic (a distance, or the test statistic of a p-value test)
    and, for p-value tests, its p-value. Either may be non-finite (infinite
    chi-square with an unseen category, NaN t-test of two constant samples);
    the report turns those into null."""

    __test__ = False

    statistic: float
    p_value: float | None = None
