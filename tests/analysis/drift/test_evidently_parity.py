"""MonitorX's drift numbers equal Evidently 0.7's on the same seeded data.

Evidently runs in its own environment (.venv-peers: it needs pandas < 3), in one
subprocess for every case (`evidently_peer.py`). For each case and column the
test, threshold and verdict must be the same, and Evidently's drift score must
equal MonitorX's p-value (p-value tests) or statistic (distances) to 1e-9
relative. Without .venv-peers the comparison fails under CI and is skipped
elsewhere (`peers.run_peer`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from monitorx.analysis.drift import STATTESTS, DriftOptions, FeatureDrift, analyze_columns
from tests.analysis.drift.evidently_cases import CASES, Case
from tests.analysis.drift.peers import run_peer

pytestmark = pytest.mark.timeout(900)

RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12
# Evidently's name for MonitorX's `energy`.
_EVIDENTLY_NAMES = {"energy": "ed"}


def _json_values(values: np.ndarray) -> list[object]:
    if values.dtype == np.float64:
        return [None if math.isnan(v) else v for v in values.tolist()]
    return values.tolist()


def _peer_input(cases: list[Case]) -> dict[str, Any]:
    return {
        "cases": [
            {
                "id": case.id,
                "reference": {c: _json_values(case.dataset.reference[c]) for c in case.columns},
                "current": {c: _json_values(case.dataset.current[c]) for c in case.columns},
                "numerical": [c for c in case.dataset.numerical if c in case.columns],
                "categorical": [c for c in case.dataset.categorical if c in case.columns],
                "stattest": case.stattest,
                "threshold": case.threshold,
            }
            for case in cases
        ]
    }


@pytest.fixture(scope="module")
def evidently() -> dict[str, Any]:
    results: dict[str, Any] = run_peer("evidently_peer.py", _peer_input(CASES))["cases"]
    return results


def _monitorx(case: Case) -> dict[str, FeatureDrift]:
    options = DriftOptions(stattest=case.stattest, threshold=case.threshold)
    reference = {c: case.dataset.reference[c] for c in case.columns}
    current = {c: case.dataset.current[c] for c in case.columns}
    report = analyze_columns("parity", reference, current, options)
    return {f.feature: f for f in report.features}


def _same_number(ours: float | None, theirs: float | str) -> bool:
    if isinstance(theirs, str):  # Evidently's inf or nan
        return ours is None
    if ours is None:
        return False
    return math.isclose(ours, theirs, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_statistic_p_value_and_verdict_equal_evidentlys(
    case: Case, evidently: dict[str, Any]
) -> None:
    theirs = evidently[case.id]
    ours = _monitorx(case)
    assert set(ours) == set(theirs["columns"])
    mismatches = []
    for column, feature in ours.items():
        peer = theirs["columns"][column]
        uses_p_value = STATTESTS[feature.stattest].rule.uses_p_value
        score = feature.p_value if uses_p_value else feature.statistic
        ours_row = (
            _EVIDENTLY_NAMES.get(feature.stattest, feature.stattest),
            feature.threshold,
            feature.drifted,
        )
        theirs_row = (peer["stattest"], peer["threshold"], peer["drifted"])
        same_score = case.verdict_only or _same_number(score, peer["drift_score"])
        if ours_row != theirs_row or not same_score:
            mismatches.append(f"{column}: ours {ours_row} {score}, Evidently's {theirs_row} {peer}")
    assert not mismatches, "\n".join(mismatches)
    share = sum(f.drifted for f in ours.values()) / len(ours)
    assert math.isclose(share, theirs["share_drifted"])
