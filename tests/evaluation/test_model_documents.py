"""Per-model settings kept as documents: written through, read back at start-up,
a stored document that no longer parses skipped (and logged), not fatal."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitorx.analysis.quality.thresholds import QualityConfig
from monitorx.core import FakeClock
from monitorx.evaluation.model_documents import ModelDocuments
from monitorx.store import open_storage


async def test_documents_are_read_back_and_bad_ones_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = open_storage(f"duckdb:///{tmp_path / 'mx.duckdb'}", clock=FakeClock())
    await storage.open()
    try:
        kind = "quality_config"
        written = ModelDocuments(storage, kind, QualityConfig.from_json, QualityConfig.to_json)
        config = QualityConfig.from_json({"interval": "5m", "thresholds": {"mae_max": 2}})
        assert await written.put("good", config) is True
        assert await written.put("good", config) is False
        await storage.put_document(kind, "broken", '{"thresholds": {"speed_max": 1}}')
        await storage.put_document(kind, "not-json", "{")

        loaded = ModelDocuments(storage, kind, QualityConfig.from_json, QualityConfig.to_json)
        with caplog.at_level(logging.ERROR, logger="monitorx.server"):
            await loaded.load()
        assert loaded.items() == [("good", config)]
        assert "broken" in caplog.text and "not-json" in caplog.text

        assert await loaded.delete("good") is True
        assert await loaded.delete("good") is False
        assert await storage.get_document(kind, "good") is None
    finally:
        await storage.close()
