"""The result of a drift analysis, as API.md's DriftReport."""

from __future__ import annotations

__all__ = ["DATASET_DRIFT_SHARE", "DriftReport", "FeatureDrift"]

from dataclasses import dataclass
from typing import Literal

# The dataset drifts when at least this share of its columns drift (Evidently's
# ``drift_share``).
DATASET_DRIFT_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One column's verdict. ``statistic`` is the test's statistic (a distance, or
    the KS D, chi-square, z, … of a p-value test) and ``p_value`` is null for
    distances; either is null when not finite (an infinite chi-square from a
    category the reference never saw). ``note`` says why a column could not be
    tested (no non-null value on one side, too few values for the test); such a
    column is not drifted."""

    feature: str
    kind: Literal["numerical", "categorical"]
    stattest: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    note: str | None = None

    def to_json(self) -> dict[str, object]:
        item: dict[str, object] = {
            "feature": self.feature,
            "kind": self.kind,
            "stattest": self.stattest,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }
        if self.note is not None:
            item["note"] = self.note
        return item


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every column's verdict and the dataset's: ``share_drifted`` is drifted
    columns over columns, ``dataset_drift`` whether it reaches
    `DATASET_DRIFT_SHARE`."""

    model_id: str
    reference_rows: int
    current_rows: int
    dataset_drift: bool
    share_drifted: float
    features: tuple[FeatureDrift, ...]

    @classmethod
    def of(
        cls,
        model_id: str,
        reference_rows: int,
        current_rows: int,
        features: tuple[FeatureDrift, ...],
    ) -> DriftReport:
        share = sum(f.drifted for f in features) / len(features) if features else 0.0
        return cls(
            model_id=model_id,
            reference_rows=reference_rows,
            current_rows=current_rows,
            dataset_drift=bool(features) and share >= DATASET_DRIFT_SHARE,
            share_drifted=share,
            features=features,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "dataset_drift": self.dataset_drift,
            "share_drifted": self.share_drifted,
            "features": [f.to_json() for f in self.features],
        }
