"""Quality configuration parsing and the alerts its thresholds raise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitorx.analysis.quality.model_quality import QualityWindow, Task
from monitorx.analysis.quality.thresholds import QualityConfig, quality_breaches
from monitorx.core import AlertType, Severity, ValidationError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_minimum_and_maximum_thresholds_breach_in_their_own_direction() -> None:
    config = QualityConfig.from_json(
        {"interval": "15m", "thresholds": {"accuracy_min": 0.9, "log_loss_max": 0.5}}
    )
    assert config.interval_s == 900.0
    window = QualityWindow(NOW, 40, {"accuracy": 0.6, "log_loss": 0.4, "f1": 0.1})
    breaches = quality_breaches("fraud", window, 900.0, config.thresholds, NOW)
    assert len(breaches) == 1
    breach = breaches[0]
    assert breach.alert_type is AlertType.QUALITY
    assert breach.labels == {"quality": "model", "metric": "accuracy"}
    assert (breach.value, breach.threshold) == (0.6, 0.9)
    assert breach.severity is Severity.HIGH  # 0.9 / 0.6 = 1.5
    assert "accuracy 0.6 over 40 labelled records" in breach.message


def test_undefined_metric_is_not_checked() -> None:
    config = QualityConfig.from_json({"thresholds": {"r2_min": 0.5}})
    window = QualityWindow(NOW, 1, {"mae": 1.0, "r2": None})
    assert quality_breaches("m", window, 3600.0, config.thresholds, NOW) == []


def test_config_round_trips() -> None:
    body = {"task": "regression", "interval": 600.0, "thresholds": {"mae_max": 3.0}}
    config = QualityConfig.from_json(body)
    assert config.task is Task.REGRESSION
    assert config.to_json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"thresholds": {"accuracy_low": 0.9}}, "thresholds.accuracy_low"),
        ({"thresholds": {"speed_max": 0.9}}, "thresholds.speed_max"),
        ({"thresholds": {"accuracy_min": "high"}}, "thresholds.accuracy_min"),
        ({"task": "regression", "thresholds": {"accuracy_min": 0.9}}, "thresholds.accuracy_min"),
        ({"task": "ranking"}, "task"),
        ({"interval": "0s"}, "interval"),
        ({"extra": 1}, "extra"),
        ({"thresholds": []}, "thresholds"),
    ],
)
def test_bad_config_names_the_field(body: object, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        QualityConfig.from_json(body)
    assert raised.value.errors[0].field == field
