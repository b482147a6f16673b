"""What a scheduled drift run stores: one data metric and one per feature, with the
confidences docs/quality.md defines; and how schedules are parsed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitorx.core import DriftType, Severity, ValidationError
from monitorx.evaluation.drift_runs import DriftSchedule, drift_metrics
from tests.analysis.drift.verdicts import Feature, Report

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_run_stores_a_data_metric_and_one_per_feature() -> None:
    report = Report(
        "m",
        100,
        50,
        False,
        1 / 3,
        (
            Feature("amount", "numerical", "ks", 0.4, 0.002, 0.05, True),
            Feature("country", "categorical", "jensenshannon", 0.05, None, 0.1, False),
            Feature("prediction", "numerical", "wasserstein", 0.3, None, 0.1, True),
        ),
    )
    data, amount, country, prediction = drift_metrics(report, NOW)
    assert (data.drift_type, data.feature) == (DriftType.DATA, None)
    assert data.confidence == data.score == pytest.approx(1 / 3)
    assert amount.drift_type is DriftType.FEATURE
    assert (amount.feature, amount.score) == ("amount", 0.4)
    assert amount.confidence == pytest.approx(0.998)  # 1 − p-value
    assert amount.severity is Severity.CRITICAL
    assert country.confidence == pytest.approx(0.5)  # statistic / threshold
    assert prediction.drift_type is DriftType.PREDICTION
    assert prediction.confidence == 1.0  # capped: a drifted distance test
    assert {m.timestamp for m in (data, amount, country, prediction)} == {NOW}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"interval": "15m"}, "window"),
        ({"window": "1h"}, "interval"),
        ({"window": "1h", "interval": "0s"}, "interval"),
        ({"window": "7", "interval": "-5m"}, "interval"),
        ([], "body"),
    ],
)
def test_bad_schedule_names_the_field(body: object, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        DriftSchedule.from_json(body)
    assert raised.value.errors[0].field == field


def test_schedule_keeps_the_analysis_options_beside_its_timing() -> None:
    body = {"window": "1h", "interval": "15m", "stattest": "psi", "preset": "nannyml"}
    schedule = DriftSchedule.from_json(body)
    assert schedule.options == {"stattest": "psi", "preset": "nannyml"}
    assert schedule.to_json() == {
        "window": 3600.0,
        "interval": 900.0,
        "stattest": "psi",
        "preset": "nannyml",
    }
