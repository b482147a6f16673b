"""Threshold profiles: default thresholds per model type and environment, some of
them learned from each model's own history; and a model's effective thresholds.

A profile for (``tabular``, ``prod``)::

    {"thresholds": {"error_rate": 0.05},
     "learn": {"latency_ms": {"aggregation": "p99", "factor": 1.5, "window": "7d"}}}

The effective value of each threshold field of a registered model is, first that
applies:

1. the model's own value (``source: "model"``);
2. the fixed value of its (model type, environment) profile (``"profile"``);
3. the value learned for the model when the profile asks to learn that field
   (``"learned"``): ``factor`` × the ``aggregation`` of the model's own metric over
   the trailing ``window`` (defaults p99, 1.5, 7 days) — once the window holds at
   least the minimum number of points; before that the field has no check.

A field is fixed or learned in one profile, not both. ``drift_confidence`` can be
fixed but not learned: drift figures are not a metric series to aggregate.
"""

from __future__ import annotations

__all__ = [
    "LEARNABLE_FIELDS",
    "THRESHOLD_FIELDS",
    "EffectiveThreshold",
    "LearnSpec",
    "LearnedValue",
    "ThresholdProfile",
    "ThresholdSource",
    "effective_thresholds",
    "thresholds_of",
]

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from monitorx.alerting.rules.definition import format_duration
from monitorx.alerting.rules.fields import parse_window
from monitorx.core import (
    Environment,
    FieldError,
    MetricName,
    ModelConfig,
    ModelType,
    Thresholds,
    ValidationError,
)
from monitorx.core.numbers import finite_number
from monitorx.store import Aggregation

THRESHOLD_FIELDS = tuple(f.name for f in fields(Thresholds))
# The threshold fields a profile may learn, and the metric each is learned from.
LEARNABLE_FIELDS: dict[str, MetricName] = {
    "latency_ms": MetricName.LATENCY,
    "error_rate": MetricName.ERROR_RATE,
    "gpu_memory_mb": MetricName.GPU_MEMORY_MB,
    "cpu_percent": MetricName.CPU_PERCENT,
    "memory_mb": MetricName.MEMORY_MB,
}
_FRACTIONS = frozenset({"error_rate", "drift_confidence"})  # 0..1, as on a model
DEFAULT_LEARN_AGGREGATION = Aggregation.P99
DEFAULT_LEARN_FACTOR = 1.5
DEFAULT_LEARN_WINDOW_S = 7 * 86400.0


class ThresholdSource(StrEnum):
    MODEL = "model"
    PROFILE = "profile"
    LEARNED = "learned"


@dataclass(frozen=True, slots=True)
class LearnSpec:
    """Learn a field as ``factor`` × ``aggregation`` of the trailing ``window_s``."""

    aggregation: Aggregation = DEFAULT_LEARN_AGGREGATION
    factor: float = DEFAULT_LEARN_FACTOR
    window_s: float = DEFAULT_LEARN_WINDOW_S

    def to_json(self) -> dict[str, object]:
        return {
            "aggregation": self.aggregation.value,
            "factor": self.factor,
            "window": format_duration(self.window_s),
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> LearnSpec:
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise ValidationError('expected {"aggregation", "factor", "window"}', where)
        unknown = sorted(set(map(str, value)) - {"aggregation", "factor", "window"})
        if unknown:
            raise ValidationError("unknown field", f"{where}.{unknown[0]}")
        aggregation = value.get("aggregation", DEFAULT_LEARN_AGGREGATION.value)
        allowed = ", ".join(a.value for a in Aggregation if a is not Aggregation.COUNT)
        learnable = {a.value for a in Aggregation} - {"count"}
        if not isinstance(aggregation, str) or aggregation not in learnable:
            raise ValidationError(f"expected one of {allowed}", f"{where}.aggregation")
        factor = finite_number(value.get("factor", DEFAULT_LEARN_FACTOR), f"{where}.factor")
        if factor <= 0:
            raise ValidationError("must be above 0", f"{where}.factor")
        window_s = parse_window(value.get("window", DEFAULT_LEARN_WINDOW_S), f"{where}.window")
        return cls(Aggregation(aggregation), factor, window_s)


@dataclass(frozen=True, slots=True)
class ThresholdProfile:
    """Default thresholds of the models of one type in one environment."""

    model_type: ModelType
    environment: Environment
    thresholds: Thresholds = field(default_factory=Thresholds)
    learn: Mapping[str, LearnSpec] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.model_type.value}:{self.environment.value}"

    def applies_to(self, model: ModelConfig) -> bool:
        return model.model_type is self.model_type and model.environment is self.environment

    def to_json(self) -> dict[str, object]:
        return {
            "model_type": self.model_type.value,
            "environment": self.environment.value,
            "thresholds": self.thresholds.to_dict(),
            "learn": {name: spec.to_json() for name, spec in self.learn.items()},
        }

    def stored(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_stored(cls, body: str) -> ThresholdProfile:
        data = json.loads(body)
        return cls.from_body(data, data["model_type"], data["environment"])

    @classmethod
    def from_body(cls, body: object, model_type: str, environment: str) -> ThresholdProfile:
        """Parse and check a profile (``model_type`` and ``environment`` from the path)."""
        errors: list[FieldError] = []
        kind = _member(ModelType, model_type, "model_type", errors)
        place = _member(Environment, environment, "environment", errors)
        if not isinstance(body, Mapping):
            raise ValidationError([*errors, FieldError("body", "expected a JSON object")])
        errors += [
            FieldError(name, "unknown field; expected thresholds and learn")
            for name in sorted(set(map(str, body)) - {"thresholds", "learn", *_ECHOED})
        ]
        values = _fixed(body.get("thresholds"), errors)
        learn = _learn(body.get("learn"), errors)
        errors += [
            FieldError(f"learn.{name}", "is also fixed in thresholds; a field is one or the other")
            for name in learn
            if values.get(name) is not None
        ]
        if errors:
            raise ValidationError(errors)
        assert kind is not None and place is not None
        return cls(ModelType(kind), Environment(place), Thresholds(**values), learn)


# A profile as GET shows it may be sent back as it is.
_ECHOED = ("model_type", "environment")


def _member(kind: type[StrEnum], value: str, name: str, errors: list[FieldError]) -> str | None:
    if value in {m.value for m in kind}:
        return value
    allowed = ", ".join(m.value for m in kind)
    errors.append(FieldError(name, f"unknown {name} {value[:40]!r}; expected one of {allowed}"))
    return None


def _fixed(value: object, errors: list[FieldError]) -> dict[str, float | None]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(FieldError("thresholds", "expected a JSON object"))
        return {}
    found: dict[str, float | None] = {}
    for name, number in value.items():
        where = f"thresholds.{name}"
        if name not in THRESHOLD_FIELDS:
            errors.append(
                FieldError(where, f"unknown; expected one of {', '.join(THRESHOLD_FIELDS)}")
            )
        elif number is not None:
            try:
                checked = finite_number(number, where)
            except ValidationError as exc:
                errors.extend(exc.errors)
                continue
            if checked < 0:
                errors.append(FieldError(where, "must be at least 0"))
            elif name in _FRACTIONS and checked > 1:
                errors.append(FieldError(where, "must be between 0 and 1"))
            else:
                found[name] = checked
    return found


def _learn(value: object, errors: list[FieldError]) -> dict[str, LearnSpec]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(FieldError("learn", "expected a JSON object"))
        return {}
    found: dict[str, LearnSpec] = {}
    for name, raw in value.items():
        where = f"learn.{name}"
        if name not in LEARNABLE_FIELDS:
            errors.append(
                FieldError(where, f"cannot be learned; learn {', '.join(LEARNABLE_FIELDS)}")
            )
            continue
        try:
            found[name] = LearnSpec.from_json(raw, where)
        except ValidationError as exc:
            errors.extend(exc.errors)
    return found


@dataclass(frozen=True, slots=True)
class LearnedValue:
    """What the last learning run found for one field of one model. ``value`` None:
    the window held fewer points than the minimum (``points``), so no check yet."""

    spec: LearnSpec
    value: float | None
    points: int
    learned_at: datetime


@dataclass(frozen=True, slots=True)
class EffectiveThreshold:
    """One threshold field of a model as checked, and where its value came from."""

    value: float | None
    source: ThresholdSource
    profile: str | None = None  # "model_type/environment", for profile and learned
    learned: LearnedValue | None = None
    spec: LearnSpec | None = None

    def to_json(self, min_points: int) -> dict[str, Any]:
        shown: dict[str, Any] = {"value": self.value, "source": self.source.value}
        if self.profile is not None:
            shown["profile"] = self.profile
        if self.spec is not None:
            shown.update(self.spec.to_json())
            shown["points"] = None if self.learned is None else self.learned.points
            shown["min_points"] = min_points
            at = None if self.learned is None else self.learned.learned_at.isoformat()
            shown["learned_at"] = at
        return shown


def effective_thresholds(
    model: ModelConfig,
    profile: ThresholdProfile | None,
    learned: Mapping[str, LearnedValue],
) -> dict[str, EffectiveThreshold]:
    """Each threshold field of ``model`` that has a value or is being learned.
    ``learned`` maps field names to this model's learned values."""
    found: dict[str, EffectiveThreshold] = {}
    name = None if profile is None else f"{profile.model_type.value}/{profile.environment.value}"
    for field_name in THRESHOLD_FIELDS:
        own = getattr(model.thresholds, field_name)
        if own is not None:
            found[field_name] = EffectiveThreshold(own, ThresholdSource.MODEL)
            continue
        if profile is None:
            continue
        fixed = getattr(profile.thresholds, field_name)
        if fixed is not None:
            found[field_name] = EffectiveThreshold(fixed, ThresholdSource.PROFILE, name)
            continue
        spec = profile.learn.get(field_name)
        if spec is None:
            continue
        got = learned.get(field_name)
        current = got if got is not None and got.spec == spec else None
        value = None if current is None else current.value
        found[field_name] = EffectiveThreshold(value, ThresholdSource.LEARNED, name, current, spec)
    return found


def thresholds_of(effective: Mapping[str, EffectiveThreshold]) -> Thresholds:
    """The checks that have a value, as the ingest path reads them."""
    return Thresholds(**{k: e.value for k, e in effective.items() if e.value is not None})
