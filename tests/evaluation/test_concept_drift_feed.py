"""The concept-drift feed keeps its queue bounded: when the monitors fall behind,
new batches are dropped and counted rather than held in memory."""

from __future__ import annotations

from pathlib import Path

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.concept_drift import parse_concept_drift_config
from monitorx.core import FakeClock, MetricColumns
from monitorx.evaluation.concept_drift_feed import MAX_QUEUED_BATCHES, ConceptDriftFeed
from monitorx.store import open_storage


def _batch(model_id: str, rows: int) -> MetricColumns:
    return MetricColumns(
        model_id=[model_id] * rows,
        model_type=[None] * rows,
        request_id=[f"r{i}" for i in range(rows)],
        ts_us=[1_790_000_000_000_000 + i for i in range(rows)],
        latency=[10.0] * rows,
        throughput=[None] * rows,
        error_rate=[None] * rows,
        error=[False] * rows,
        gpu_memory_mb=[None] * rows,
        gpu_utilization=[None] * rows,
        cpu_percent=[None] * rows,
        memory_mb=[None] * rows,
        tags_json=[None] * rows,
    )


async def test_batches_past_the_queue_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    clock = FakeClock()
    storage = open_storage(f"duckdb:///{tmp_path / 'mx.duckdb'}", clock=clock)
    await storage.open()
    try:
        feed = ConceptDriftFeed(storage, AlertEngine(storage, clock, 300))
        feed.offer(_batch("m", 3))  # nothing configured: ignored, not queued
        await feed.configure("m", parse_concept_drift_config({"detector": "adwin"}))
        for _ in range(MAX_QUEUED_BATCHES + 5):
            feed.offer(_batch("m", 2))
        feed.start()
        await feed.drain()
        status = feed.status("m")
        assert status is not None
        assert status.batches_dropped == 5
        assert status.points_seen == 2 * MAX_QUEUED_BATCHES
        await feed.stop()
    finally:
        await storage.close()
