"""Drift reports as plain values: what the HTML report and the scheduled runs read of
an analysis (`DriftVerdict`), without running one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    feature: str
    kind: str
    stattest: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class Report:
    model_id: str
    reference_rows: int
    current_rows: int
    dataset_drift: bool
    share_drifted: float
    features: tuple[Feature, ...]
