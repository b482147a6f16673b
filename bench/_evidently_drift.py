"""Evidently's data drift preset on two Parquet files, for bench/drift.py.

Runs under .venv-peers' Python (Evidently 0.7 needs pandas < 3; `scripts/bootstrap
dev` creates it). Usage::

    .venv-peers/bin/python bench/_evidently_drift.py REFERENCE.parquet CURRENT.parquet \
        '{"numerical": [...], "categorical": [...]}'

Prints one JSON object: seconds to read the files into pandas, seconds of
``Report([DataDriftPreset()]).run`` (what an Evidently user waits for), the
process's peak RSS (VmHWM) in MiB, and each column's method, score, threshold and
verdict (p-value methods drift below the threshold, distances at or above it).
"""

from __future__ import annotations

import json
import sys
import time
import warnings


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    warnings.simplefilter("ignore")
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference_path, current_path, spec_text = sys.argv[1:4]
    spec = json.loads(spec_text)
    started = time.perf_counter()
    reference = pd.read_parquet(reference_path)
    current = pd.read_parquet(current_path)
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    definition = DataDefinition(
        numerical_columns=spec["numerical"], categorical_columns=spec["categorical"]
    )
    report = Report([DataDriftPreset()])
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    result = snapshot.dict()
    run_s = time.perf_counter() - started

    columns = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        method, threshold, score = config["method"], float(config["threshold"]), metric["value"]
        is_p_value = "p_value" in method
        drifted = score < threshold if is_p_value else score >= threshold
        columns[config["column"]] = {
            "method": method,
            "score": float(score),
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    json.dump(
        {"read_s": read_s, "run_s": run_s, "peak_rss_mib": _peak_rss_mib(), "columns": columns},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
