"""The live hub without a server: slow clients lose their oldest messages, not ingest."""

from __future__ import annotations

import asyncio

from monitorx.core import MetricColumns
from monitorx.server.live import LiveHub


def one_metric(model_id: str, latency: float) -> MetricColumns:
    return MetricColumns(
        model_id=[model_id],
        model_type=[None],
        request_id=["r"],
        ts_us=[1_700_000_000_000_000],
        latency=[latency],
        throughput=[None],
        error_rate=[None],
        error=[False],
        gpu_memory_mb=[None],
        gpu_utilization=[None],
        cpu_percent=[None],
        memory_mb=[None],
        tags_json=[None],
    )


async def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    hub = LiveHub(queue_size=3)
    slow = hub.subscribe()
    for latency in range(5):
        hub.publish_batch(one_metric("m", float(latency)))
    assert slow.dropped == 2
    kept = [(await slow.next())["latency_last"] for _ in range(3)]
    assert kept == [2.0, 3.0, 4.0]


async def test_subscribers_get_only_their_models_and_unsubscribed_get_nothing() -> None:
    hub = LiveHub()
    only_b = hub.subscribe(frozenset({"b"}))
    gone = hub.subscribe()
    hub.unsubscribe(gone)
    hub.publish_batch(one_metric("a", 1.0))
    hub.publish_batch(one_metric("b", 2.0))
    assert (await asyncio.wait_for(only_b.next(), 1))["model_id"] == "b"
    assert gone.dropped == 0
    assert hub.subscriber_count == 1
