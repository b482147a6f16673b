"""The fields of a window rule, read one at a time: each parser takes the value and
the field's name and raises a `ValidationError` naming the field; `Fields` gathers
them so that one answer names every bad field."""

from __future__ import annotations

__all__ = [
    "MAX_RULE_WINDOW_S",
    "RESERVED_GROUP_KEYS",
    "Fields",
    "parse_boolean",
    "parse_description",
    "parse_enum",
    "parse_group_by",
    "parse_identifier",
    "parse_labels",
    "parse_metric",
    "parse_model_ids",
    "parse_non_negative_duration",
    "parse_window",
]

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from monitorx.alerting.rules.window import INFERENCE_METRICS
from monitorx.core import FieldError, ValidationError
from monitorx.core.identifiers import check_identifier
from monitorx.core.numbers import finite_number
from monitorx.core.samples import (
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    SAMPLE_NAME_PATTERN,
)
from monitorx.core.timeparse import parse_duration

# A rule's window is at most a week: longer aggregates belong to SLOs and reports,
# and every evaluation reads the whole window again.
MAX_RULE_WINDOW_S = 7 * 86400
MAX_DESCRIPTION_CHARS = 1024
MAX_RULE_MODELS = 1000

# Labels every alert and notification sets itself: a group cannot bring its own.
RESERVED_GROUP_KEYS = frozenset({"rule", "alertname", "severity"})
_METRIC_NAME = re.compile(SAMPLE_NAME_PATTERN)
_ZERO_DURATION = re.compile(r"^\s*0+(?:\.0+)?\s*(?:ms|s|m|h|d|w)?\s*$")


class Fields:
    """Reads one field at a time; a bad one is recorded, not raised, so that one
    answer names every bad field."""

    def __init__(self, data: Mapping[str, Any], errors: list[FieldError]) -> None:
        self._data = data
        self._errors = errors

    def take(self, name: str, parse: Any, default: Any = None) -> Any:
        value = self._data.get(name)
        if value is None:
            return default
        try:
            return parse(value, name)
        except ValidationError as exc:
            self._errors.extend(exc.errors)
            return default


def parse_identifier(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("expected a string", name)
    return check_identifier(value, name)


def parse_metric(value: object, name: str) -> str:
    if isinstance(value, str) and (value in INFERENCE_METRICS or _METRIC_NAME.match(value)):
        return value
    raise ValidationError(
        "expected an inference metric (latency, error_rate, …) or a custom metric's name "
        "(1–200 of A–Z a–z 0–9 _ : . starting with a letter)",
        name,
    )


def parse_labels(value: object, name: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise ValidationError('expected an object of label values, e.g. {"region": "eu"}', name)
    if len(value) > MAX_LABELS:
        raise ValidationError(f"at most {MAX_LABELS} labels", name)
    for key, item in value.items():
        if not key or len(key) > MAX_LABEL_KEY:
            raise ValidationError(f"a key must be 1–{MAX_LABEL_KEY} characters", name)
        if not isinstance(item, str) or len(item) > MAX_LABEL_VALUE:
            raise ValidationError(
                f"expected a string of up to {MAX_LABEL_VALUE} characters", f"{name}.{key}"
            )
    return tuple(sorted(value.items()))


def parse_group_by(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValidationError('expected a list of label keys, e.g. ["region"]', name)
    if len(value) > MAX_LABELS:
        raise ValidationError(f"at most {MAX_LABELS} label keys", name)
    for index, key in enumerate(value):
        if not isinstance(key, str) or not key or len(key) > MAX_LABEL_KEY:
            raise ValidationError(
                f"expected a label key of 1–{MAX_LABEL_KEY} characters", f"{name}[{index}]"
            )
        if key in RESERVED_GROUP_KEYS:
            raise ValidationError(
                f"{key!r} is set on every alert by MonitorX; group by another label",
                f"{name}[{index}]",
            )
    return tuple(dict.fromkeys(value))


def parse_enum(kind: type[StrEnum]) -> Any:
    def parse(value: object, name: str) -> StrEnum:
        allowed = ", ".join(member.value for member in kind)
        if not isinstance(value, str):
            raise ValidationError(f"expected one of {allowed}", name)
        try:
            return kind(value)
        except ValueError:
            message = f"unknown {name} {value[:40]!r}; expected one of {allowed}"
            raise ValidationError(message, name) from None

    return parse


def _duration(value: object, name: str) -> float:
    """`parse_duration`, with numbers past the float range refused by name."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = finite_number(value, name)
    return parse_duration(value, name)


def _negative(value: object) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value < 0
    return isinstance(value, str) and value.strip().startswith("-")


def parse_window(value: object, name: str) -> float:
    """A trailing window: a duration above 0 and at most 7 days."""
    if _negative(value):
        raise ValidationError("must not be negative", name)
    seconds = _duration(value, name)
    if seconds > MAX_RULE_WINDOW_S:
        raise ValidationError("must be at most 7 days", name)
    return seconds


def parse_non_negative_duration(value: object, name: str) -> float:
    if _negative(value):
        raise ValidationError("must not be negative", name)
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    if isinstance(value, str) and _ZERO_DURATION.match(value):
        return 0.0
    return _duration(value, name)


def parse_model_ids(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValidationError("expected a list of model ids", name)
    if len(value) > MAX_RULE_MODELS:
        raise ValidationError(f"at most {MAX_RULE_MODELS} model ids", name)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError("expected a model id (a string)", f"{name}[{index}]")
        check_identifier(item, f"{name}[{index}]")
    return tuple(dict.fromkeys(value))  # unique, in the given order


def parse_boolean(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("expected true or false", name)
    return value


def parse_description(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION_CHARS:
        raise ValidationError(
            f"expected a string of up to {MAX_DESCRIPTION_CHARS} characters", name
        )
    return value
