"""Window rules as the API and the rules file write them, and as the store keeps them.

A rule record is a `WindowRule` (what is computed and compared) plus what the
alert it raises looks like and where the rule came from::

    {"id": "p95-latency", "metric": "latency", "aggregation": "p95", "window": "5m",
     "op": ">", "threshold": 250, "for": "2m", "clear": "5m",
     "severity": "high", "model_ids": ["fraud-v3"], "alert_type": "latency",
     "enabled": true, "description": "checkout is slow"}

    {"id": "queue-backlog", "metric": "queue.depth", "aggregation": "last",
     "window": "5m", "op": ">", "threshold": 1000,
     "labels": {"env": "prod"}, "group_by": ["queue", "model_id"]}

Required: ``id``, ``metric``, ``aggregation``, ``window``, ``op``, ``threshold``.
Durations are seconds or strings such as ``30s``, ``5m``, ``1h``, ``7d``; ``window``
is at most 7 days, ``for`` and ``clear`` default to 0 (fire at the first true
evaluation, resolve at the first false one, as Prometheus's ``for`` and
``keep_firing_for``). Without ``model_ids`` a rule applies to every model.
Without ``severity`` the alert's severity comes from API.md's bands on how far the
value is past the threshold (value / threshold for ``>``/``>=``, threshold / value
for ``<``/``<=``). ``alert_type`` defaults from the metric (``metric`` for a custom
one). ``source`` (``api`` or ``file``) and ``models`` (the state per model or
group) are shown by the API and ignored when sent back.

``metric`` is an inference metric or a custom metric's name (which need not have
data yet). ``labels`` (exact matchers: every key must have that value) and
``group_by`` (label keys) make the rule one over groups of series: one alert per
group, carrying the group's labels, with the group's ``model_id`` label as its
model (else none); ``model_ids`` belongs to per-model rules only.

Every bad field is refused with a `ValidationError` that names it.
"""

from __future__ import annotations

__all__ = ["RuleRecord", "RuleSource", "format_duration"]

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from monitorx.alerting.rules.fields import (
    Fields,
    parse_boolean,
    parse_description,
    parse_enum,
    parse_group_by,
    parse_identifier,
    parse_labels,
    parse_metric,
    parse_model_ids,
    parse_non_negative_duration,
    parse_window,
)
from monitorx.alerting.rules.window import INFERENCE_METRICS, Comparison, WindowRule
from monitorx.core import AlertType, FieldError, MetricName, Severity, ValidationError
from monitorx.core.numbers import finite_number
from monitorx.core.severity import severity_for_ratio
from monitorx.store import QueryAggregation

_REQUIRED = ("id", "metric", "aggregation", "window", "op", "threshold")
_OPTIONAL = (
    "for",
    "clear",
    "severity",
    "model_ids",
    "labels",
    "group_by",
    "alert_type",
    "enabled",
    "description",
)
# Shown by the API; a client that sends a rule back as it read it may include them.
_READ_ONLY = ("source", "models")
_KNOWN = frozenset((*_REQUIRED, *_OPTIONAL, *_READ_ONLY))

_MODEL_IDS_PER_MODEL = (
    "applies to per-model rules (an inference metric with no labels or group_by); "
    'a rule over labels takes labels {"model_id": …} or group_by ["model_id"]'
)
_METRIC_ALERT_TYPES = {
    MetricName.LATENCY: AlertType.LATENCY,
    MetricName.ERROR_RATE: AlertType.ERROR_RATE,
    MetricName.THROUGHPUT: AlertType.THROUGHPUT,
    MetricName.GPU_MEMORY_MB: AlertType.RESOURCE_USAGE,
    MetricName.GPU_UTILIZATION: AlertType.RESOURCE_USAGE,
    MetricName.CPU_PERCENT: AlertType.RESOURCE_USAGE,
    MetricName.MEMORY_MB: AlertType.RESOURCE_USAGE,
    MetricName.TIME_TO_FIRST_TOKEN_MS: AlertType.LATENCY,
    MetricName.PROMPT_TOKENS: AlertType.RESOURCE_USAGE,
    MetricName.COMPLETION_TOKENS: AlertType.RESOURCE_USAGE,
    MetricName.COST_USD: AlertType.RESOURCE_USAGE,
}
_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


class RuleSource(StrEnum):
    """Where a rule was defined: through the API, or in the rules file."""

    API = "api"
    FILE = "file"


def format_duration(seconds: float) -> str:
    """``300`` → ``"5m"``: the largest unit that divides the duration exactly."""
    if seconds > 0 and seconds == int(seconds):
        for unit, size in _UNITS:
            if int(seconds) % size == 0:
                return f"{int(seconds) // size}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class RuleRecord:
    """A window rule with the alert it raises: type, optional fixed severity, and
    where it came from. ``severity`` None: from the bands on each evaluation."""

    rule: WindowRule
    alert_type: AlertType
    severity: Severity | None = None
    enabled: bool = True
    description: str = ""
    source: RuleSource = RuleSource.API

    @property
    def id(self) -> str:
        return self.rule.id

    def severity_for(self, value: float) -> Severity:
        """The fixed severity, else API.md's band of how far ``value`` is past."""
        if self.severity is not None:
            return self.severity
        if self.rule.comparison in (Comparison.ABOVE, Comparison.AT_OR_ABOVE):
            return severity_for_ratio(value, self.rule.threshold)
        # Below-rules: the ratio turns over (a throughput of 25 under 100 is 4×).
        return severity_for_ratio(self.rule.threshold, value)

    def message(self, value: float, group: Mapping[str, str] | None = None) -> str:
        """The alert's message: what was measured (of which group), over what,
        against what."""
        rule = self.rule
        of = ""
        if group:
            of = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(group.items())) + "}"
        text = (
            f"{rule.aggregation.value} {rule.metric}{of} over {format_duration(rule.window_s)} "
            f"is {value:.4g}, {rule.comparison.value} {rule.threshold:g} (rule {rule.id})"
        )
        return f"{self.description}: {text}" if self.description else text

    def to_json(self) -> dict[str, object]:
        """The rule as the API shows it (and as the store keeps it)."""
        rule = self.rule
        return {
            "id": rule.id,
            "metric": rule.metric,
            "aggregation": rule.aggregation.value,
            "window": format_duration(rule.window_s),
            "op": rule.comparison.value,
            "threshold": rule.threshold,
            "for": format_duration(rule.for_s),
            "clear": format_duration(rule.clear_s),
            "severity": None if self.severity is None else self.severity.value,
            "model_ids": list(rule.model_ids),
            "labels": dict(rule.labels),
            "group_by": list(rule.group_by),
            "alert_type": self.alert_type.value,
            "enabled": self.enabled,
            "description": self.description,
            "source": self.source.value,
        }

    def stored(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_stored(cls, body: str) -> RuleRecord:
        data = json.loads(body)
        return cls.from_body(data, source=RuleSource(data.get("source", RuleSource.API)))

    @classmethod
    def from_body(
        cls, body: object, path_id: str | None = None, source: RuleSource = RuleSource.API
    ) -> RuleRecord:
        """Parse and check a rule; every bad field is named in one `ValidationError`.

        ``path_id`` is the id in ``PUT /rules/{id}``: the body may leave ``id`` out,
        and must not name another."""
        if not isinstance(body, Mapping):
            raise ValidationError("expected an object with the rule's fields", "body")
        data: Mapping[str, Any] = body
        if path_id is not None and "id" not in data:
            data = {**data, "id": path_id}
        errors: list[FieldError] = [
            FieldError(name, f"unknown field; expected some of {', '.join(_REQUIRED + _OPTIONAL)}")
            for name in sorted(set(map(str, data)) - _KNOWN)
        ]
        errors += [FieldError(n, "is required") for n in _REQUIRED if data.get(n) is None]
        fields = Fields(data, errors)
        rule_id = fields.take("id", parse_identifier)
        if rule_id is not None and path_id is not None and rule_id != path_id:
            errors.append(FieldError("id", f"body id {rule_id!r} differs from the path's"))
        metric = fields.take("metric", parse_metric)
        aggregation = fields.take("aggregation", parse_enum(QueryAggregation))
        window_s = fields.take("window", parse_window)
        comparison = fields.take("op", parse_enum(Comparison))
        threshold = fields.take("threshold", finite_number)
        for_s = fields.take("for", parse_non_negative_duration, 0.0)
        clear_s = fields.take("clear", parse_non_negative_duration, 0.0)
        severity = fields.take("severity", parse_enum(Severity))
        model_ids = fields.take("model_ids", parse_model_ids, ())
        labels = fields.take("labels", parse_labels, ())
        group_by = fields.take("group_by", parse_group_by, ())
        alert_type = fields.take("alert_type", parse_enum(AlertType))
        enabled = fields.take("enabled", parse_boolean, True)
        description = fields.take("description", parse_description, "")
        per_group = bool(labels or group_by) or (
            metric is not None and metric not in INFERENCE_METRICS
        )
        if per_group and model_ids:
            errors.append(FieldError("model_ids", _MODEL_IDS_PER_MODEL))
        if errors:
            raise ValidationError(errors)
        assert rule_id is not None and metric is not None and aggregation is not None
        assert window_s is not None and comparison is not None and threshold is not None
        rule = WindowRule(
            id=rule_id,
            metric=metric,
            aggregation=aggregation,
            window_s=window_s,
            comparison=comparison,
            threshold=threshold,
            for_s=for_s,
            clear_s=clear_s,
            severity=severity or Severity.HIGH,
            model_ids=model_ids,
            labels=labels,
            group_by=group_by,
        )
        default_type = (
            _METRIC_ALERT_TYPES[MetricName(metric)] if metric in INFERENCE_METRICS else None
        )
        return cls(
            rule=rule,
            alert_type=alert_type or default_type or AlertType.METRIC,
            severity=severity,
            enabled=enabled,
            description=description,
            source=source,
        )
