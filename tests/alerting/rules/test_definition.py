"""Window rules as JSON and YAML: parsing, defaults, severity, and errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitorx.alerting.rules.definition import RuleRecord, RuleSource, format_duration
from monitorx.alerting.rules.file import load_rules_file, parse_rules_file
from monitorx.alerting.rules.window import Comparison
from monitorx.core import AlertType, MetricName, Severity, ValidationError
from monitorx.store import QueryAggregation

P95 = {
    "id": "p95-latency",
    "metric": "latency",
    "aggregation": "p95",
    "window": "5m",
    "op": ">",
    "threshold": 250,
    "for": "2m",
    "clear": "5m",
}


def rule(**changes: Any) -> dict[str, Any]:
    body = dict(P95)
    for name, value in changes.items():
        key = name.rstrip("_")
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.field for e in exc.value.errors]


def test_a_rule_parses_with_its_durations_in_seconds() -> None:
    record = RuleRecord.from_body(P95)
    assert record.rule.metric == MetricName.LATENCY
    assert record.rule.aggregation is QueryAggregation.P95
    assert not record.rule.per_group
    assert record.rule.comparison is Comparison.ABOVE
    assert (record.rule.window_s, record.rule.for_s, record.rule.clear_s) == (300, 120, 300)
    assert record.rule.threshold == 250.0
    assert record.alert_type is AlertType.LATENCY
    assert record.severity is None and record.enabled and record.source is RuleSource.API
    assert record.rule.model_ids == ()


def test_round_trip_through_the_store_keeps_every_field() -> None:
    body = rule(severity="critical", model_ids=["a", "b", "a"], description="slow", enabled=False)
    record = RuleRecord.from_body(body, source=RuleSource.FILE)
    again = RuleRecord.from_stored(record.stored())
    assert again == record
    shown = again.to_json()
    assert shown["window"] == "5m" and shown["for"] == "2m" and shown["clear"] == "5m"
    assert shown["model_ids"] == ["a", "b"]
    assert shown["source"] == "file"


def test_for_and_clear_default_to_zero_and_seconds_are_accepted() -> None:
    record = RuleRecord.from_body(rule(for_=..., clear=..., window=90))
    assert (record.rule.window_s, record.rule.for_s, record.rule.clear_s) == (90, 0, 0)
    assert RuleRecord.from_body(rule(for_="0s", clear=0)).rule.for_s == 0


@pytest.mark.parametrize(
    ("metric", "alert_type"),
    [
        ("latency", "latency"),
        ("error_rate", "error_rate"),
        ("throughput", "throughput"),
        ("gpu_memory_mb", "resource_usage"),
        ("gpu_utilization", "resource_usage"),
        ("cpu_percent", "resource_usage"),
        ("memory_mb", "resource_usage"),
    ],
)
def test_alert_type_defaults_from_the_metric(metric: str, alert_type: str) -> None:
    assert RuleRecord.from_body(rule(metric=metric)).alert_type == alert_type
    overridden = RuleRecord.from_body(rule(metric=metric, alert_type="anomaly"))
    assert overridden.alert_type is AlertType.ANOMALY


@pytest.mark.parametrize(
    ("op", "threshold", "value", "severity"),
    [
        (">", 100, 124, Severity.LOW),
        (">", 100, 125, Severity.MEDIUM),
        (">=", 100, 150, Severity.HIGH),
        (">", 100, 200, Severity.CRITICAL),
        # Below-rules turn the ratio over: threshold / value.
        ("<", 100, 90, Severity.LOW),
        ("<", 100, 70, Severity.MEDIUM),
        ("<=", 100, 60, Severity.HIGH),
        ("<", 100, 50, Severity.CRITICAL),
        ("<", 10, 0, Severity.CRITICAL),
    ],
)
def test_severity_without_a_fixed_one_follows_the_bands(
    op: str, threshold: float, value: float, severity: Severity
) -> None:
    record = RuleRecord.from_body(rule(op=op, threshold=threshold))
    assert record.severity_for(value) is severity


def test_a_fixed_severity_wins_over_the_bands() -> None:
    record = RuleRecord.from_body(rule(severity="low"))
    assert record.severity_for(10_000) is Severity.LOW


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "no spaces"}, "id"),
        ({"id": "x" * 129}, "id"),
        ({"id": ...}, "id"),
        ({"metric": "p95 latency"}, "metric"),  # neither inference nor a valid name
        ({"metric": ...}, "metric"),
        ({"aggregation": "p42"}, "aggregation"),
        ({"op": "=>"}, "op"),
        ({"op": "!="}, "op"),
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": float("inf")}, "threshold"),
        ({"threshold": "250"}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"threshold": 10**400}, "threshold"),
        ({"window": 10**400}, "window"),
        ({"clear": 10**400}, "clear"),
        ({"window": "8d"}, "window"),
        ({"window": 0}, "window"),
        ({"window": "-5m"}, "window"),
        ({"window": "soon"}, "window"),
        ({"for_": -1}, "for"),
        ({"for_": "-2m"}, "for"),
        ({"clear": -30}, "clear"),
        ({"severity": "dire"}, "severity"),
        ({"alert_type": "nope"}, "alert_type"),
        ({"model_ids": "m"}, "model_ids"),
        ({"model_ids": ["ok", "not ok"]}, "model_ids[1]"),
        ({"model_ids": [7]}, "model_ids[0]"),
        ({"enabled": "yes"}, "enabled"),
        ({"description": 5}, "description"),
        ({"expr": "up == 0"}, "expr"),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        RuleRecord.from_body(rule(**changes))
    assert fields_of(exc) == [field]


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as exc:
        RuleRecord.from_body(rule(metric="9lives", threshold=None, window="9d"))
    assert sorted(fields_of(exc)) == ["metric", "threshold", "window"]


def test_path_id_fills_a_missing_id_and_refuses_another() -> None:
    assert RuleRecord.from_body(rule(id=...), path_id="from-path").id == "from-path"
    with pytest.raises(ValidationError) as exc:
        RuleRecord.from_body(rule(id="other"), path_id="from-path")
    assert fields_of(exc) == ["id"]


def test_what_the_api_shows_may_be_sent_back() -> None:
    shown = RuleRecord.from_body(P95).to_json()
    shown["models"] = [{"model_id": "m", "state": "firing"}]
    assert RuleRecord.from_body(shown).to_json() == RuleRecord.from_body(P95).to_json()


def test_message_says_what_was_measured_against_what() -> None:
    record = RuleRecord.from_body(P95)
    assert record.message(312.0) == "p95 latency over 5m is 312, > 250 (rule p95-latency)"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (300, "5m"),
        (5400, "90m"),
        (7200, "2h"),
        (604800, "7d"),
        (1.5, "1.5s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# The rules file ------------------------------------------------------------------

GOOD_FILE = """
rules:
  - id: p95-latency
    metric: latency
    aggregation: p95
    window: 5m
    op: ">"
    threshold: 250
    for: 2m
    clear: 5m
  - id: no-traffic
    metric: latency
    aggregation: count
    window: 10m
    op: "<"
    threshold: 1
    severity: critical
    model_ids: [fraud-v3]
"""


def test_a_rules_file_loads_its_rules_with_source_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD_FILE)
    first, second = load_rules_file(path)
    assert (first.id, second.id) == ("p95-latency", "no-traffic")
    assert first.source is RuleSource.FILE and first.rule.for_s == 120
    assert second.rule.aggregation is QueryAggregation.COUNT and second.rule.model_ids == (
        "fraud-v3",
    )


def test_an_empty_rules_file_has_no_rules() -> None:
    assert parse_rules_file("", "rules.yaml") == []
    assert parse_rules_file("rules: []\n", "rules.yaml") == []


def test_a_bad_rule_in_the_file_is_named_by_place_id_and_field() -> None:
    text = GOOD_FILE.replace("threshold: 1\n", "threshold: .nan\n")
    with pytest.raises(ValidationError) as exc:
        parse_rules_file(text, "rules.yaml")
    assert fields_of(exc) == ["rules[1].threshold"]
    assert "rules[1].threshold: in rules.yaml, rule 'no-traffic': must be a finite number" in str(
        exc.value
    )


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("rules: [\n", "rules_file", "not valid YAML"),
        ("alerts: []\n", "rules_file", "one key, 'rules'"),
        ("rules: {id: x}\n", "rules", "a list of rules"),
        ("rules: [5]\n", "rules[0]", "expected an object"),
        (GOOD_FILE.replace("no-traffic", "p95-latency"), "rules[1].id", "already used by rules[0]"),
    ],
)
def test_a_broken_file_says_what_is_wrong(text: str, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_rules_file(text, "rules.yaml")
    assert fields_of(exc) == [field]
    assert words in str(exc.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"cannot read the rules file .*missing\.yaml"):
        load_rules_file(tmp_path / "missing.yaml")
