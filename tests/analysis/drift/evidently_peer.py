"""Evidently's drift verdicts for the cases MonitorX is compared on.

Runs under .venv-peers' Python (Evidently 0.7 needs pandas < 3), never imported by
the test suite: it reads the cases as JSON on stdin and prints, for each case and
column, what Evidently's ``DataDriftTable`` computed: the test's name, its drift
score (the p-value of a p-value test, the statistic of a distance), threshold and
verdict, and the dataset's share of drifted columns.

Input: ``{"cases": [{"id", "reference": {column: [values]}, "current": {...},
"numerical": [names], "categorical": [names], "stattest": name | null,
"threshold": number | null}]}`` (JSON null for a missing value).
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd


def main() -> None:
    warnings.simplefilter("ignore")
    from evidently.legacy.calculations.stattests import registry
    from evidently.legacy.metrics import DataDriftTable
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    names = {
        test.display_name: name
        for name, by_type in registry._registered_stat_tests.items()
        for test in by_type.values()
    }
    cases = json.load(sys.stdin)["cases"]
    results = {}
    for case in cases:
        reference = _frame(case["reference"], case["numerical"])
        current = _frame(case["current"], case["numerical"])
        metric = DataDriftTable(
            stattest=case.get("stattest"), stattest_threshold=case.get("threshold")
        )
        report = Report(metrics=[metric])
        report.run(
            reference_data=reference,
            current_data=current,
            column_mapping=ColumnMapping(
                target=None,
                prediction=None,
                numerical_features=case["numerical"],
                categorical_features=case["categorical"],
            ),
        )
        result = report.as_dict()["metrics"][0]["result"]
        results[case["id"]] = {
            "share_drifted": float(result["share_of_drifted_columns"]),
            "dataset_drift": bool(result["dataset_drift"]),
            "columns": {
                column: {
                    "stattest": names[item["stattest_name"]],
                    "drift_score": _number(item["drift_score"]),
                    "threshold": float(item["stattest_threshold"]),
                    "drifted": bool(item["drift_detected"]),
                }
                for column, item in result["drift_by_columns"].items()
            },
        }
    json.dump({"cases": results}, sys.stdout)


def _frame(columns: dict[str, list[object]], numerical: list[str]) -> pd.DataFrame:
    data = {}
    for name, values in columns.items():
        if name in numerical:
            data[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        else:
            data[name] = pd.Series(values, dtype="object")
    return pd.DataFrame(data)


def _number(value: object) -> float | str:
    number = float(value)  # type: ignore[arg-type]
    return number if np.isfinite(number) else str(number)


if __name__ == "__main__":
    main()
