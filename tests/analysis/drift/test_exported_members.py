"""The drift package's public API is exactly its curated ``__all__``."""

from __future__ import annotations

import types

import monitorx.analysis.drift as drift


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(drift).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(drift.__all__) == public


def test_the_contract_names_other_modules_use_are_exported() -> None:
    for name in ("Columns", "DriftOptions", "DriftReport", "FeatureDrift", "analyze_columns"):
        assert name in drift.__all__
