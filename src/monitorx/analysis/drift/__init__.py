"""Per-column drift tests on scipy, named and defaulted as Evidently's, with the
automatic choice of API.md and presets that reproduce Evidently's and NannyML's
numbers (docs/drift.md)."""

from monitorx.analysis.drift.analyze import Columns, analyze_columns
from monitorx.analysis.drift.binning import Binning, BinningRule, EmptyBinFill
from monitorx.analysis.drift.choice import automatic_stattest
from monitorx.analysis.drift.options import DriftOptions, Preset
from monitorx.analysis.drift.outcome import JsOutput, TestOutcome, TestParameters, WassersteinNorm
from monitorx.analysis.drift.registry import STATTESTS, DriftRule, StatTest, stattest_by_name
from monitorx.analysis.drift.report import DATASET_DRIFT_SHARE, DriftReport, FeatureDrift
from monitorx.analysis.drift.samples import ColumnKind, ColumnPair

__all__ = [
    "DATASET_DRIFT_SHARE",
    "STATTESTS",
    "Binning",
    "BinningRule",
    "ColumnKind",
    "ColumnPair",
    "Columns",
    "DriftOptions",
    "DriftReport",
    "DriftRule",
    "EmptyBinFill",
    "FeatureDrift",
    "JsOutput",
    "Preset",
    "StatTest",
    "TestOutcome",
    "TestParameters",
    "WassersteinNorm",
    "analyze_columns",
    "automatic_stattest",
    "stattest_by_name",
]
