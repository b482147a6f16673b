"""The panels of a custom dashboard: each checked into its stored form, and their
OpenAPI schema.

Two kinds, told apart by which field a panel has:

- a **models** panel charts one inference metric under one `Aggregation`, one line
  per model (what ``/metrics/aggregates`` answers)::

      {"title": "p95 latency", "metric": "latency", "agg": "p95",
       "models": ["fraud-v3", "fraud-v4"], "range": null}

- a **query** panel holds a `GET /metrics/query` — any metric, inference or custom,
  label matchers in that endpoint's ``key:value`` / ``key!:value`` syntax, and
  ``group_by`` label keys — and is drawn one line per group::

      {"title": "CTR by region", "range": "6h",
       "query": {"metric": "ranker.ctr", "agg": "mean",
                 "labels": ["model_id!:ranker-v1"], "group_by": ["region"]}}

Panels stored before query panels existed are models panels and read back as they
were. A query panel's metric need not have data yet (a dashboard may be saved before
the first sample), so its name is checked for form, not for existence.
"""

from __future__ import annotations

import re
from typing import Any

from monitorx.core import MetricName, ValidationError
from monitorx.core.identifiers import check_identifier
from monitorx.core.samples import MAX_LABEL_KEY, MAX_LABEL_VALUE, MAX_LABELS, SAMPLE_NAME_PATTERN
from monitorx.store import Aggregation, QueryAggregation

RANGES = ("15m", "1h", "6h", "24h", "7d")
MAX_MODELS_PER_PANEL = 20
MAX_TITLE = 256
# As many matchers and group keys as a series may have labels.
MAX_MATCHERS = MAX_LABELS
MAX_GROUP_KEYS = MAX_LABELS

_INFERENCE_METRICS = [m.value for m in MetricName]
_SAMPLE_NAME = re.compile(SAMPLE_NAME_PATTERN)

RANGE_SCHEMA: dict[str, Any] = {"type": ["string", "null"], "enum": [*RANGES, None]}
_TITLE_SCHEMA: dict[str, Any] = {"type": "string", "maxLength": MAX_TITLE}
MODELS_PANEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "models panel",
    "required": ["metric", "models"],
    "properties": {
        "title": _TITLE_SCHEMA,
        "metric": {"type": "string", "enum": _INFERENCE_METRICS},
        "agg": {"type": "string", "enum": [a.value for a in Aggregation]},
        "models": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_MODELS_PER_PANEL,
            "items": {"type": "string"},
        },
        "range": RANGE_SCHEMA,
    },
}
QUERY_PANEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "query panel",
    "required": ["query"],
    "properties": {
        "title": _TITLE_SCHEMA,
        "range": RANGE_SCHEMA,
        "query": {
            "type": "object",
            "required": ["metric"],
            "properties": {
                "metric": {
                    "type": "string",
                    "pattern": SAMPLE_NAME_PATTERN,
                    "description": "an inference metric or a custom metric's name",
                },
                "agg": {"type": "string", "enum": [a.value for a in QueryAggregation]},
                "labels": {
                    "type": "array",
                    "maxItems": MAX_MATCHERS,
                    "items": {"type": "string", "description": "key:value or key!:value"},
                },
                "group_by": {
                    "type": "array",
                    "maxItems": MAX_GROUP_KEYS,
                    "items": {"type": "string", "minLength": 1, "maxLength": MAX_LABEL_KEY},
                },
            },
        },
    },
}
PANEL_SCHEMA: dict[str, Any] = {"oneOf": [MODELS_PANEL_SCHEMA, QUERY_PANEL_SCHEMA]}


def checked_title(value: object, field: str, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > MAX_TITLE:
        raise ValidationError(f"must be a string of at most {MAX_TITLE} characters", field)
    return value


def checked_range(value: object, field: str) -> str | None:
    if value is None:
        return None
    if value not in RANGES:
        raise ValidationError(f"must be one of {', '.join(RANGES)}", field)
    return str(value)


def _choice(value: object, allowed: list[str], field: str, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"must be one of {', '.join(allowed)}", field)
    return value


def _models_panel(value: dict[str, Any], where: str) -> dict[str, Any]:
    models = value.get("models")
    if not isinstance(models, list) or not 1 <= len(models) <= MAX_MODELS_PER_PANEL:
        raise ValidationError(f"a list of 1 to {MAX_MODELS_PER_PANEL} model ids", f"{where}.models")
    for n, model in enumerate(models):
        if not isinstance(model, str):
            raise ValidationError("a model id is a string", f"{where}.models[{n}]")
        check_identifier(model, f"{where}.models[{n}]")
    metric = _choice(value.get("metric"), _INFERENCE_METRICS, f"{where}.metric", "")
    if not metric:
        raise ValidationError("required", f"{where}.metric")
    agg = _choice(value.get("agg"), [a.value for a in Aggregation], f"{where}.agg", "mean")
    return {
        "title": checked_title(value.get("title"), f"{where}.title", f"{metric} {agg}"),
        "metric": metric,
        "agg": agg,
        "models": models,
        "range": checked_range(value.get("range"), f"{where}.range"),
    }


def _matcher(text: object, field: str) -> str:
    """``key:value`` or ``key!:value``, as `GET /metrics/query`'s ``label`` takes it."""
    if not isinstance(text, str):
        raise ValidationError("a matcher is a string, key:value or key!:value", field)
    key, sep, value = text.partition(":")
    key = key.removesuffix("!")
    if not sep or not key:
        raise ValidationError(f"expected key:value or key!:value, got {text[:60]!r}", field)
    if len(key) > MAX_LABEL_KEY or len(value) > MAX_LABEL_VALUE:
        raise ValidationError(
            f"a label key has at most {MAX_LABEL_KEY} characters, a value {MAX_LABEL_VALUE}", field
        )
    return text


def _group_by(value: object, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_GROUP_KEYS:
        raise ValidationError(f"a list of at most {MAX_GROUP_KEYS} label keys", field)
    for n, key in enumerate(value):
        # The query API takes group_by comma-separated: a key cannot hold a comma.
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_LABEL_KEY or "," in key:
            raise ValidationError(
                f"a label key: 1 to {MAX_LABEL_KEY} characters, no comma", f"{field}[{n}]"
            )
        if key in value[:n]:
            raise ValidationError(f"{key!r} is named twice", f"{field}[{n}]")
    return list(value)


def _query(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError("an object: metric, agg, labels, group_by", where)
    metric = value.get("metric")
    if not isinstance(metric, str) or not _SAMPLE_NAME.match(metric):
        raise ValidationError(
            "required: an inference metric or a custom metric's name "
            "(1–200 of A–Z a–z 0–9 _ : . starting with a letter)",
            f"{where}.metric",
        )
    aggs = [a.value for a in QueryAggregation]
    agg = _choice(value.get("agg"), aggs, f"{where}.agg", QueryAggregation.MEAN.value)
    labels = value.get("labels", [])
    if labels is None:
        labels = []
    if not isinstance(labels, list) or len(labels) > MAX_MATCHERS:
        raise ValidationError(f"a list of at most {MAX_MATCHERS} matchers", f"{where}.labels")
    return {
        "metric": metric,
        "agg": agg,
        "labels": [_matcher(m, f"{where}.labels[{n}]") for n, m in enumerate(labels)],
        "group_by": _group_by(value.get("group_by"), f"{where}.group_by"),
    }


def _query_panel(value: dict[str, Any], where: str) -> dict[str, Any]:
    query = _query(value.get("query"), f"{where}.query")
    grouped = f" by {', '.join(query['group_by'])}" if query["group_by"] else ""
    default_title = f"{query['metric']} {query['agg']}{grouped}"
    return {
        "title": checked_title(value.get("title"), f"{where}.title", default_title),
        "query": query,
        "range": checked_range(value.get("range"), f"{where}.range"),
    }


def panel_from_body(value: object, index: int) -> dict[str, Any]:
    """The stored form of ``panels[index]``: a models panel, or a query panel when it
    has ``query``. ValidationError names the offending field."""
    where = f"panels[{index}]"
    if not isinstance(value, dict):
        raise ValidationError("a panel is an object", where)
    if "query" in value:
        if "models" in value or "metric" in value:
            raise ValidationError(
                "a panel has either models (metric, agg, models) or a query, not both", where
            )
        return _query_panel(value, where)
    return _models_panel(value, where)
