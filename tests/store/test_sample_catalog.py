"""The series catalog's `prepare`: series ids, the per-metric limit within a batch and
across batches, last-seen times — whether rows share one labels dict (as the
protocol decoders hand them) or carry equal copies."""

from __future__ import annotations

from monitorx.core.samples import SampleColumns, canonical_labels, series_id
from monitorx.store.samples.batch import KeyedSamples
from monitorx.store.samples.catalog import SeriesCatalog


def _columns(rows: list[tuple[str, dict[str, str], int]]) -> KeyedSamples:
    columns = SampleColumns()
    for value, (name, labels, ts_us) in enumerate(rows):
        columns.append(name, float(value), ts_us, labels, None)
    return KeyedSamples.of(columns)


def test_shared_and_equal_label_dicts_make_one_series_per_name_and_labels() -> None:
    eu = {"region": "eu", "host": "a"}
    rows = [("cpu", eu, 10), ("mem", eu, 11), ("cpu", eu, 12), ("cpu", dict(eu), 13)]
    batch, refused = SeriesCatalog(10).prepare(_columns(rows))
    assert refused.tolist() == []
    cpu = series_id("cpu", canonical_labels(eu))
    mem = series_id("mem", canonical_labels(eu))
    assert batch.table.column("series_id").to_pylist() == [cpu, mem, cpu, cpu]
    assert batch.table.column("value").to_pylist() == [0.0, 1.0, 2.0, 3.0]
    assert sorted((s.name, s.series_id) for s in batch.new_series) == [("cpu", cpu), ("mem", mem)]


def test_rows_past_the_limit_are_refused_each_and_the_others_kept() -> None:
    catalog = SeriesCatalog(max_series_per_metric=1)
    old, new = {"id": "old"}, {"id": "new"}
    rows = [("q", old, 1), ("q", new, 2), ("q", old, 3), ("q", new, 4), ("q", {"id": "new"}, 5)]
    batch, refused = catalog.prepare(_columns(rows))
    assert refused.tolist() == [1, 3, 4]
    assert "metric 'q' has reached its limit of 1 label sets" in catalog.limit_reason("q")
    assert batch.table.column("value").to_pylist() == [0.0, 2.0]
    # The next batch: the existing series still works, a new one is still refused.
    batch, refused = catalog.prepare(_columns([("q", new, 6), ("q", old, 7)]))
    assert refused.tolist() == [0]
    assert batch.table.column("value").to_pylist() == [1.0]


def test_last_seen_is_each_series_latest_sample() -> None:
    catalog = SeriesCatalog(10)
    a, b = {"k": "a"}, {"k": "b"}
    catalog.prepare(_columns([("m", a, 50), ("m", b, 20), ("m", a, 30), ("m", b, 70)]))
    catalog.prepare(_columns([("m", a, 40)]))  # older than what was seen: no change
    seen = catalog.last_seen()
    assert seen == {
        series_id("m", canonical_labels(a)): 50,
        series_id("m", canonical_labels(b)): 70,
    }
