"""Data quality of logged records against the model's reference set.

For every feature of the reference, over the current rows:

- ``missing_share``: rows where the feature is null or absent, over all rows;
- ``type_mismatch_share``: non-null values of the wrong kind (a string in a
  numerical column, a number in a categorical one; booleans are neither), over all
  rows. Such values are left out of the two checks below;
- ``out_of_range_share`` (numerical): values below the reference's minimum or above
  its maximum, over all rows;
- ``new_category_share`` (categorical): values never seen in the reference, over
  all rows, with the most frequent of them listed (``new_categories``).

A feature's kind comes from the reference column (float → numerical, strings →
categorical), as for drift. Current columns the reference does not have are listed
as ``unexpected_features``. Shares are ``None`` when there are no current rows
("too little data", never NaN).

Rules bound each share (`DataQualityRules`); a share strictly above its limit is a
violation and raises a `quality` alert labelled with the feature and the check.
"""

from __future__ import annotations

__all__ = [
    "CHECKS",
    "Columns",
    "DataQualityReport",
    "DataQualityRules",
    "FeatureQuality",
    "analyze_data_quality",
    "data_quality_breaches",
]

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from monitorx.core import AlertType, Breach, ValidationError
from monitorx.core.severity import severity_for_ratio
from monitorx.core.timeparse import parse_duration

Columns = Mapping[str, npt.NDArray[Any]]
Kind = Literal["numerical", "categorical"]
CHECKS = ("missing_share", "type_mismatch_share", "out_of_range_share", "new_category_share")
# The records the scheduled check reads when the rules name no window.
DEFAULT_WINDOW_S = 3600.0
# How many unseen categories a report lists per feature (the most frequent first).
MAX_LISTED_CATEGORIES = 10


@dataclass(frozen=True, slots=True)
class FeatureQuality:
    """The data quality of one feature over the current rows."""

    feature: str
    kind: Kind
    rows: int
    missing_share: float | None
    type_mismatch_share: float | None
    out_of_range_share: float | None = None
    new_category_share: float | None = None
    reference_min: float | None = None
    reference_max: float | None = None
    new_categories: tuple[tuple[str, int], ...] = ()

    def share(self, check: str) -> float | None:
        value: float | None = getattr(self, check)
        return value

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "feature": self.feature,
            "kind": self.kind,
            "missing_share": self.missing_share,
            "type_mismatch_share": self.type_mismatch_share,
        }
        if self.kind == "numerical":
            out["out_of_range_share"] = self.out_of_range_share
            out["reference_range"] = [self.reference_min, self.reference_max]
        else:
            out["new_category_share"] = self.new_category_share
            out["new_categories"] = [{"value": v, "count": n} for v, n in self.new_categories]
        return out


@dataclass(frozen=True, slots=True)
class DataQualityReport:
    model_id: str
    reference_rows: int
    current_rows: int
    features: tuple[FeatureQuality, ...]
    unexpected_features: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "features": [f.to_json() for f in self.features],
            "unexpected_features": list(self.unexpected_features),
        }


def _kind(reference: npt.NDArray[Any]) -> Kind:
    return "numerical" if reference.dtype.kind in "fiu" else "categorical"


def _is_null(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _numbers(values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    if values.dtype.kind in "fiu":
        return np.asarray(values, dtype=np.float64)
    kept = [float(v) for v in values.tolist() if _is_number(v) and not _is_null(v)]
    return np.asarray(kept, dtype=np.float64)


def _numerical(
    name: str, reference: npt.NDArray[Any], current: npt.NDArray[Any], rows: int
) -> FeatureQuality:
    ref = np.asarray(reference, dtype=np.float64)
    ref = ref[np.isfinite(ref)]
    low, high = (float(ref.min()), float(ref.max())) if ref.size else (None, None)
    if current.dtype.kind in "fiu":
        missing = int(np.count_nonzero(np.isnan(np.asarray(current, dtype=np.float64))))
        mismatched = 0
    else:
        values = current.tolist()
        missing = sum(1 for v in values if _is_null(v))
        mismatched = sum(1 for v in values if not _is_null(v) and not _is_number(v))
    numbers = _numbers(current)
    numbers = numbers[np.isfinite(numbers)]
    outside = 0
    if low is not None and high is not None:
        outside = int(np.count_nonzero((numbers < low) | (numbers > high)))
    return FeatureQuality(
        feature=name,
        kind="numerical",
        rows=rows,
        missing_share=_share(missing, rows),
        type_mismatch_share=_share(mismatched, rows),
        out_of_range_share=_share(outside, rows),
        reference_min=low,
        reference_max=high,
    )


def _categorical(
    name: str, reference: npt.NDArray[Any], current: npt.NDArray[Any], rows: int
) -> FeatureQuality:
    known = {v for v in reference.tolist() if isinstance(v, str)}
    values = current.tolist()
    missing = sum(1 for v in values if _is_null(v))
    mismatched = sum(1 for v in values if not _is_null(v) and not isinstance(v, str))
    unseen = Counter(v for v in values if isinstance(v, str) and v not in known)
    listed = tuple(sorted(unseen.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_LISTED_CATEGORIES])
    return FeatureQuality(
        feature=name,
        kind="categorical",
        rows=rows,
        missing_share=_share(missing, rows),
        type_mismatch_share=_share(mismatched, rows),
        new_category_share=_share(sum(unseen.values()), rows),
        new_categories=listed,
    )


def _share(count: int, rows: int) -> float | None:
    return None if rows == 0 else count / rows


def _rows(columns: Columns) -> int:
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise ValidationError("columns differ in length", "current")
    return lengths.pop() if lengths else 0


def analyze_data_quality(model_id: str, reference: Columns, current: Columns) -> DataQualityReport:
    """Each reference feature's quality over ``current``; a feature absent from
    ``current`` is missing in every row."""
    if not reference:
        raise ValidationError("the reference has no columns", "reference")
    rows = _rows(current)
    features: list[FeatureQuality] = []
    for name, ref in reference.items():
        cur = current.get(name)
        if cur is None:
            cur = np.full(rows, None, dtype=object)
        if _kind(ref) == "numerical":
            features.append(_numerical(name, ref, cur, rows))
        else:
            features.append(_categorical(name, ref, cur, rows))
    unexpected = tuple(sorted(set(current) - set(reference)))
    return DataQualityReport(model_id, _rows(reference), rows, tuple(features), unexpected)


@dataclass(frozen=True, slots=True)
class DataQualityRules:
    """Limits on each check's share: ``default`` for every feature, ``features`` per
    feature (a feature's own limit replaces the default for that check). The
    scheduled check reads the records of the last ``window_s``."""

    default: Mapping[str, float] = field(default_factory=dict)
    features: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    window_s: float = DEFAULT_WINDOW_S

    def limits(self, feature: str) -> dict[str, float]:
        return {**self.default, **self.features.get(feature, {})}

    @classmethod
    def from_json(cls, body: object) -> DataQualityRules:
        """``{"default": {"missing_share": 0.05}, "features": {"amount": {...}},
        "window": "1h"}``; keys are the check names of `CHECKS` (each limit in [0, 1])."""
        if not isinstance(body, Mapping):
            raise ValidationError("expected a JSON object", "body")
        unknown = set(body) - {"default", "features", "window"}
        if unknown:
            raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", sorted(unknown)[0])
        default = _limits(_or_empty(body.get("default")), "default")
        raw = _or_empty(body.get("features"))
        if not isinstance(raw, Mapping):
            raise ValidationError("expected an object of feature -> limits", "features")
        features = {str(k): _limits(v, f"features.{k}") for k, v in raw.items()}
        window = body.get("window")
        window_s = DEFAULT_WINDOW_S if window is None else parse_duration(window, "window")
        return cls(default, features, window_s)

    def to_json(self) -> dict[str, object]:
        return {
            "window": self.window_s,
            "default": dict(self.default),
            "features": {k: dict(v) for k, v in self.features.items()},
        }


def _or_empty(value: object) -> object:
    """An absent or null section is empty; anything else is checked as given."""
    return {} if value is None else value


def _limits(raw: object, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise ValidationError("expected an object of check -> limit", where)
    limits: dict[str, float] = {}
    for key, value in raw.items():
        if key not in CHECKS:
            raise ValidationError(
                f"unknown check {key!r}; use one of {', '.join(CHECKS)}", f"{where}.{key}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("must be a number", f"{where}.{key}")
        if not 0.0 <= float(value) <= 1.0:
            raise ValidationError("must be between 0 and 1", f"{where}.{key}")
        limits[key] = float(value)
    return limits


def data_quality_breaches(
    report: DataQualityReport, rules: DataQualityRules, observed_at: datetime
) -> list[Breach]:
    """One `quality` breach per feature and check whose share is strictly above its
    limit, labelled ``{"quality": "data", "feature": ..., "check": ...}``."""
    breaches: list[Breach] = []
    for quality in report.features:
        for check, limit in rules.limits(quality.feature).items():
            share = quality.share(check)
            if share is None or share <= limit:
                continue
            breaches.append(
                Breach(
                    model_id=report.model_id,
                    alert_type=AlertType.QUALITY,
                    severity=severity_for_ratio(share, limit),
                    value=share,
                    threshold=limit,
                    message=(
                        f"{check.replace('_', ' ')} of feature {quality.feature} is "
                        f"{share:.1%} of {quality.rows} records, above the {limit:.1%} limit "
                        f"on model {report.model_id}"
                    ),
                    observed_at=observed_at,
                    labels={"quality": "data", "feature": quality.feature, "check": check},
                )
            )
    return breaches
