"""NannyML's univariate drift for the cases MonitorX's ``nannyml`` preset is
compared on.

Runs under .venv-peers' Python, never imported by the test suite. For each case
and column it fits NannyML's method on the reference as ``UnivariateDriftCalculator``
does (``DefaultChunker``, ``StandardDeviationThreshold(std_lower_multiplier=None)``)
and calculates it on the whole current as one chunk: the value, the learned upper
threshold, the alert, and chi2's p-value.

Input: ``{"cases": [{"id", "method": NannyML key, "reference": {column: [values]},
"current": {...}, "continuous": [names], "categorical": [names]}]}``.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd


def main() -> None:
    warnings.simplefilter("ignore")
    from nannyml.chunk import DefaultChunker
    from nannyml.drift.univariate.methods import FeatureType, MethodFactory
    from nannyml.thresholds import StandardDeviationThreshold

    results = {}
    for case in json.load(sys.stdin)["cases"]:
        columns = {}
        for name in case["reference"]:
            continuous = name in case["continuous"]
            reference = _series(name, case["reference"][name], continuous)
            current = _series(name, case["current"][name], continuous)
            extra = {"computation_params": {}} if continuous else {}
            method = MethodFactory.create(
                key=case["method"],
                feature_type=FeatureType.CONTINUOUS if continuous else FeatureType.CATEGORICAL,
                chunker=DefaultChunker(),
                threshold=StandardDeviationThreshold(std_lower_multiplier=None),
                **extra,
            ).fit(reference_data=reference)
            value = float(method.calculate(current))
            columns[name] = {
                "value": value,
                "upper_threshold": method.upper_threshold_value,
                "alert": bool(method.alert(value)),
                "p_value": getattr(method, "_p_value", None),
            }
        results[case["id"]] = columns
    json.dump({"cases": results}, sys.stdout)


def _series(name: str, values: list[object], continuous: bool) -> pd.Series:
    if continuous:
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64", name=name)
    return pd.Series(values, dtype="object", name=name)


if __name__ == "__main__":
    main()
