"""Every `Storage` method is safe to call concurrently: many writers at once lose
nothing and store nothing twice."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np

from monitorx.core import MetricColumns, MetricName, ModelConfig, ModelType
from monitorx.store import Aggregation, AlertQuery, MetricQuery, Storage, metric_table
from tests.store.conformance.contents import DATA_START, WHOLE
from tests.store.conformance.expected import as_inference_metrics, expected_buckets
from tests.store.conformance.samples import MODELS, random_alerts, random_drift, random_metrics

WRITERS = 8
BATCHES = 20
PER_BATCH = 10


async def test_concurrent_metric_writers_store_every_metric_once(storage: Storage) -> None:
    rng = np.random.default_rng(91)
    batches = [
        [
            random_metrics(rng, PER_BATCH, DATA_START, 3 * 3600, id_prefix=f"w{w}-b{b}")
            for b in range(BATCHES)
        ]
        for w in range(WRITERS)
    ]

    async def writer(w: int) -> None:
        for b, batch in enumerate(batches[w]):
            # Both forms a batch may take, interleaved across writers.
            await storage.write_metrics(metric_table(batch) if (w + b) % 2 else batch)

    await asyncio.gather(*(writer(w) for w in range(WRITERS)))

    everything = MetricColumns.concat([b for mine in batches for b in mine])
    stored = await storage.read_metrics_table(*WHOLE)
    counts = Counter(stored.column("request_id").to_pylist())
    assert len(counts) == WRITERS * BATCHES * PER_BATCH
    assert counts == Counter(everything.request_id)
    assert await storage.query_metrics(MetricQuery(*WHOLE, 10_000)) == as_inference_metrics(
        everything
    )
    for model_id in MODELS:
        found = await storage.aggregate(
            model_id, MetricName.LATENCY, Aggregation.COUNT, 3600, *WHOLE
        )
        expected = expected_buckets(
            everything, model_id, MetricName.LATENCY, Aggregation.COUNT, 3600, *WHOLE
        )
        assert [(b.time, b.value) for b in found] == expected


async def test_concurrent_writes_and_reads_of_every_kind_all_land(storage: Storage) -> None:
    rng = np.random.default_rng(92)
    metrics = [random_metrics(rng, 20, DATA_START, 3 * 3600, id_prefix=f"m{i}") for i in range(10)]
    drift = random_drift(rng, 20, DATA_START, 3 * 3600)
    alerts = random_alerts(rng, 20, DATA_START, 3 * 3600)
    models = [
        ModelConfig(id=f"model-{i:02d}", model_type=ModelType.TABULAR, name=f"model {i}")
        for i in range(20)
    ]

    created, _ = await asyncio.gather(
        asyncio.gather(*(storage.save_model(m) for m in models)),
        asyncio.gather(
            *(storage.write_metrics(batch) for batch in metrics),
            *(storage.write_drift(d) for d in drift),
            *(storage.save_alert(a) for a in alerts),
            *(storage.set_marker(f"marker-{i}", str(i)) for i in range(10)),
            *(storage.query_metrics(MetricQuery(*WHOLE, 100)) for _ in range(5)),
            *(storage.window_stats(*WHOLE) for _ in range(5)),
        ),
    )

    assert created == [True] * len(models)
    stored = await storage.read_metrics_table(*WHOLE)
    assert Counter(stored.column("request_id").to_pylist()) == Counter(
        MetricColumns.concat(metrics).request_id
    )
    assert len(await storage.query_drift(MetricQuery(*WHOLE, 10_000))) == len(drift)
    assert {a.id for a in await storage.list_alerts(AlertQuery(limit=10_000))} == {
        a.id for a in alerts
    }
    assert sorted(m.id for m in await storage.list_models()) == [m.id for m in models]
    for i in range(10):
        assert await storage.get_marker(f"marker-{i}") == str(i)
