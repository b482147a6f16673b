"""Streaming concept drift: a model's error (or latency) stream through river's detectors.

A `ConceptDriftConfig` names the detector (``adwin``, ``ddm``, ``page_hinkley``,
``kswin``), the stream it watches (``error``: 1 per failed request, 0 otherwise;
``latency``: milliseconds) and the detector's parameters, river's defaults unless
given (drift-anchors §2.4). `StreamMonitor` feeds values in time order and reports
each `ConceptDriftDetection`: where in the stream (index since monitoring began, and
timestamp) the detector signalled, with the stream's mean before the change and
over the points just before the signal.

Pure: river and the standard library; no store, no alerting.
"""

from __future__ import annotations

__all__ = [
    "DETECTOR_DEFAULTS",
    "DETECTOR_PARAMS",
    "RECENT_POINTS",
    "ConceptDriftConfig",
    "ConceptDriftDetection",
    "DriftDetectorName",
    "StreamMetric",
    "StreamMonitor",
    "parse_concept_drift_config",
]

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from monitorx.core import FieldError, ValidationError

# How many of the newest points describe the stream "now" in a detection.
RECENT_POINTS = 100


class DriftDetectorName(StrEnum):
    ADWIN = "adwin"
    DDM = "ddm"
    PAGE_HINKLEY = "page_hinkley"
    KSWIN = "kswin"


class StreamMetric(StrEnum):
    """The stream a detector watches."""

    ERROR = "error"  # 1.0 for a failed request, else 0.0
    LATENCY = "latency"  # milliseconds


@dataclass(frozen=True, slots=True)
class _Param:
    """One detector parameter: its river default and the values it accepts."""

    default: float | int | str | None
    kind: type
    low: float | None = None  # inclusive unless ``open_low``
    high: float | None = None  # inclusive unless ``open_high``
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False

    def check(self, name: str, value: object) -> float | int | str | None:
        if value is None and self.nullable:
            return None
        if self.kind is str:
            if value not in self.choices:
                raise ValidationError(f"must be one of {', '.join(self.choices)}", name)
            return str(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("must be a number", name)
        try:
            number = float(value)
        except OverflowError:  # an integer past the float range
            raise ValidationError("must be finite", name) from None
        if not math.isfinite(number):
            raise ValidationError("must be finite", name)
        if self.kind is int and not number.is_integer():
            raise ValidationError("must be a whole number", name)
        too_low = self.low is not None and (
            number <= self.low if self.open_low else number < self.low
        )
        too_high = self.high is not None and (
            number >= self.high if self.open_high else number > self.high
        )
        if too_low or too_high:
            raise ValidationError(f"must be within {self._range()}", name)
        return int(number) if self.kind is int else number

    def _range(self) -> str:
        left = "(" if self.open_low else "["
        right = ")" if self.open_high else "]"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{left}{low}, {high}{right}"


# river's signatures (river 0.26), defaults and the ranges that make sense.
DETECTOR_PARAMS: dict[DriftDetectorName, dict[str, _Param]] = {
    DriftDetectorName.ADWIN: {
        "delta": _Param(0.002, float, 0, 1, open_low=True, open_high=True),
        "clock": _Param(32, int, low=1),
        "max_buckets": _Param(5, int, low=2),
        "min_window_length": _Param(5, int, low=1),
        "grace_period": _Param(10, int, low=1),
    },
    DriftDetectorName.DDM: {
        "warm_start": _Param(30, int, low=1),
        "warning_threshold": _Param(2.0, float, 0, open_low=True),
        "drift_threshold": _Param(3.0, float, 0, open_low=True),
    },
    DriftDetectorName.PAGE_HINKLEY: {
        "min_instances": _Param(30, int, low=1),
        "delta": _Param(0.005, float, low=0),
        "threshold": _Param(50.0, float, 0, open_low=True),
        "alpha": _Param(0.9999, float, 0, 1, open_low=True),
        "mode": _Param("both", str, choices=("up", "down", "both")),
    },
    DriftDetectorName.KSWIN: {
        "alpha": _Param(0.005, float, 0, 1, open_low=True, open_high=True),
        "window_size": _Param(100, int, low=2),
        "stat_size": _Param(30, int, low=1),
        "seed": _Param(None, int, low=0, nullable=True),
    },
}
DETECTOR_DEFAULTS = {
    name: {key: p.default for key, p in params.items()} for name, params in DETECTOR_PARAMS.items()
}


@dataclass(frozen=True, slots=True)
class ConceptDriftConfig:
    """What one model's stream monitor runs: detector, stream, complete parameters."""

    detector: DriftDetectorName
    metric: StreamMetric
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"detector": self.detector.value, "metric": self.metric.value, "params": self.params}


def parse_concept_drift_config(body: object) -> ConceptDriftConfig:
    """A config from its JSON form; every problem is named by field (``params.delta``).

    ``metric`` defaults to ``error``; absent parameters take river's defaults. DDM
    models a binary error stream, so it watches ``error`` only.
    """
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    errors: list[FieldError] = []
    unknown = sorted(set(body) - {"detector", "metric", "params"})
    errors += [FieldError(name, "unknown field") for name in unknown]
    detector = _enum(DriftDetectorName, body.get("detector"), "detector", errors)
    metric = _enum(StreamMetric, body.get("metric", "error"), "metric", errors)
    raw_params = body.get("params", {})
    params: dict[str, Any] = {}
    if not isinstance(raw_params, dict):
        errors.append(FieldError("params", "must be a JSON object"))
    elif detector is not None:
        spec = DETECTOR_PARAMS[detector]
        for name in sorted(set(raw_params) - set(spec)):
            known = ", ".join(spec)
            errors.append(FieldError(f"params.{name}", f"{detector} takes only {known}"))
        for name, param in spec.items():
            try:
                params[name] = param.check(f"params.{name}", raw_params.get(name, param.default))
            except ValidationError as exc:
                errors += exc.errors
        size, stat = params.get("window_size"), params.get("stat_size")
        ordered = not isinstance(size, int) or not isinstance(stat, int) or stat < size
        if detector is DriftDetectorName.KSWIN and not ordered:
            errors.append(FieldError("params.stat_size", "must be below window_size"))
    if detector is DriftDetectorName.DDM and metric is StreamMetric.LATENCY:
        errors.append(FieldError("metric", "ddm watches a binary stream: only 'error'"))
    if errors:
        raise ValidationError(errors)
    assert detector is not None and metric is not None
    return ConceptDriftConfig(detector, metric, params)


E = TypeVar("E", bound=StrEnum)


def _enum(kind: type[E], value: object, name: str, errors: list[FieldError]) -> E | None:
    if value is None:
        errors.append(FieldError(name, "is required"))
        return None
    if not isinstance(value, str) or value not in {k.value for k in kind}:
        errors.append(FieldError(name, f"must be one of {', '.join(k.value for k in kind)}"))
        return None
    return kind(value)


class _RiverDetector(Protocol):
    @property
    def drift_detected(self) -> bool: ...

    def update(self, x: float) -> Any: ...


def _river_detector(config: ConceptDriftConfig) -> _RiverDetector:
    # Imported on first use: river (and the scikit-learn it loads) takes ~0.3 s and
    # tens of MiB, which a server without concept drift configured need not pay.
    from river import drift
    from river.drift import binary

    params = config.params
    if config.detector is DriftDetectorName.ADWIN:
        return drift.ADWIN(**params)  # type: ignore[no-untyped-call]  # river leaves it untyped
    if config.detector is DriftDetectorName.DDM:
        return binary.DDM(**params)
    if config.detector is DriftDetectorName.PAGE_HINKLEY:
        return drift.PageHinkley(**params)
    return drift.KSWIN(**params)


@dataclass(frozen=True, slots=True)
class ConceptDriftDetection:
    """Where a detector signalled: the point's index in the stream (0-based, since
    monitoring began) and its time (epoch microseconds); the stream's mean over the
    newest ``RECENT_POINTS`` points up to it, and before them back to the previous
    detection (or the start)."""

    index: int
    ts_us: int
    mean_before: float
    mean_recent: float


class StreamMonitor:
    """One model's detector, fed in time order."""

    def __init__(self, config: ConceptDriftConfig) -> None:
        self.config = config
        self._detector = _river_detector(config)
        self.seen = 0
        self._segment_sum = 0.0
        self._segment_count = 0
        self._recent: deque[float] = deque(maxlen=RECENT_POINTS)

    def feed(self, values: Iterable[float], ts_us: Iterable[int]) -> list[ConceptDriftDetection]:
        """Update with each value; the detections, in order."""
        found: list[ConceptDriftDetection] = []
        update = self._detector.update
        recent = self._recent
        for value, ts in zip(values, ts_us, strict=True):
            update(value)
            recent.append(value)
            self._segment_sum += value
            self._segment_count += 1
            if self._detector.drift_detected:
                recent_sum, count = sum(recent), self._segment_count
                # "Before": the segment since the previous detection, less the newest
                # points (the change lies among them), when the segment is longer.
                before = (
                    (self._segment_sum - recent_sum) / (count - len(recent))
                    if count > len(recent)
                    else self._segment_sum / count
                )
                found.append(
                    ConceptDriftDetection(
                        index=self.seen,
                        ts_us=ts,
                        mean_before=before,
                        mean_recent=recent_sum / len(recent),
                    )
                )
                self._segment_sum, self._segment_count = 0.0, 0
            self.seen += 1
        return found
