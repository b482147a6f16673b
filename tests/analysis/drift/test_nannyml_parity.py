"""The ``nannyml`` preset reproduces NannyML 0.13's univariate drift: the method's
value, the threshold it learns from ten reference chunks (mean + 3σ), and the
alert, for every method NannyML has, on the seeded datasets of the Evidently
comparison and one with a 12,000-row reference (where NannyML estimates KS and
Wasserstein from bins; docs/drift.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from monitorx.analysis.drift import DriftOptions, Preset, analyze_columns
from tests.analysis.drift.evidently_cases import DATASETS, Dataset, mixed_dataset
from tests.analysis.drift.peers import run_peer

pytestmark = pytest.mark.timeout(900)

# NannyML's method keys and MonitorX's names; which kinds of column each takes.
CONTINUOUS_METHODS = {
    "jensen_shannon": "jensenshannon",
    "hellinger": "hellinger",
    "wasserstein": "wasserstein",
    "kolmogorov_smirnov": "ks",
}
CATEGORICAL_METHODS = {
    "jensen_shannon": "jensenshannon",
    "hellinger": "hellinger",
    "l_infinity": "l_infinity",
    "chi2": "chi2",
}
CLOSE = {"rel_tol": 1e-9, "abs_tol": 1e-12}
# Constant columns make NannyML's Doane binning degenerate; the noise columns are
# what NannyML is used on.
SKIP_COLUMNS = {"same_constant", "one_category", "moved_category"}


def _columns(data: Dataset, method: str) -> tuple[list[str], list[str]]:
    continuous = [c for c in data.numerical if c not in SKIP_COLUMNS]
    categorical = [c for c in data.categorical if c not in SKIP_COLUMNS]
    return (
        continuous if method in CONTINUOUS_METHODS else [],
        categorical if method in CATEGORICAL_METHODS else [],
    )


def _values(values: np.ndarray) -> list[object]:
    if values.dtype == np.float64:
        return [None if math.isnan(v) else v for v in values.tolist()]
    return values.tolist()


LARGE = mixed_dataset("nannyml_estimated", n_ref=12_000, n_cur=3000, seed=8)
CASES = [
    (data, method)
    for data in (*DATASETS, LARGE)
    if data.name != "constants"
    for method in sorted(CONTINUOUS_METHODS.keys() | CATEGORICAL_METHODS.keys())
]


@pytest.fixture(scope="module")
def nannyml() -> dict[str, Any]:
    cases = []
    for data, method in CASES:
        continuous, categorical = _columns(data, method)
        names = continuous + categorical
        cases.append(
            {
                "id": f"{data.name}-{method}",
                "method": method,
                "reference": {c: _values(data.reference[c]) for c in names},
                "current": {c: _values(data.current[c]) for c in names},
                "continuous": continuous,
                "categorical": categorical,
            }
        )
    results: dict[str, Any] = run_peer("nannyml_peer.py", {"cases": cases})["cases"]
    return results


@pytest.mark.parametrize(("data", "method"), CASES, ids=[f"{d.name}-{m}" for d, m in CASES])
def test_value_threshold_and_alert_equal_nannymls(
    data: Dataset, method: str, nannyml: dict[str, Any]
) -> None:
    continuous, categorical = _columns(data, method)
    names = continuous + categorical
    theirs = nannyml[f"{data.name}-{method}"]
    mismatches = []
    for name in names:
        ours_name = (CONTINUOUS_METHODS if name in continuous else CATEGORICAL_METHODS)[method]
        options = DriftOptions(preset=Preset.NANNYML, stattest=ours_name)
        report = analyze_columns(
            "parity", {name: data.reference[name]}, {name: data.current[name]}, options
        )
        ours = report.features[0]
        peer = theirs[name]
        if method == "chi2":
            same = (
                ours.statistic is not None
                and math.isclose(ours.statistic, peer["value"], **CLOSE)
                and ours.p_value is not None
                and math.isclose(ours.p_value, peer["p_value"], **CLOSE)
            )
        else:
            same = (
                ours.statistic is not None
                and math.isclose(ours.statistic, peer["value"], **CLOSE)
                and math.isclose(ours.threshold, peer["upper_threshold"], **CLOSE)
            )
        if not same or ours.drifted != peer["alert"]:
            mismatches.append(f"{name}: ours {ours}, NannyML's {peer}")
    assert not mismatches, "\n".join(mismatches)
