"""Decoding ingest bodies: the fast path, the item-by-item path, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest

from monitorx.core import MalformedPayload, PayloadTooLarge, Severity, ValidationError
from monitorx.ingest.decode import decode_drift, decode_metric, decode_metric_batch

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_US = int(NOW.timestamp() * 1_000_000)


def _batch(items: list[dict[str, object]]) -> bytes:
    return orjson.dumps(items)


def test_valid_batch_becomes_columns_in_order() -> None:
    items = [
        {"model_id": "a", "latency": 1.5, "error": True, "tags": {"r": "eu"}},
        {
            "model_id": "b",
            "latency": 2,
            "resource_usage": {"cpu_percent": 30},
            "timestamp": "2026-11-22T10:00:00Z",
            "request_id": "req-1",
        },
    ]
    cols, rejected = decode_metric_batch(_batch(items), NOW, 10_000)
    assert rejected == []
    assert cols.model_id == ["a", "b"]
    assert cols.latency == [1.5, 2.0]
    assert cols.error == [True, False]
    assert cols.cpu_percent == [None, 30.0]
    assert cols.tags_json == ['{"r":"eu"}', None]
    assert cols.ts_us[0] == NOW_US
    assert cols.ts_us[1] == NOW_US - 2 * 3600 * 1_000_000
    assert cols.request_id[1] == "req-1"
    assert cols.request_id[0]  # generated


def test_generated_request_ids_are_unique_across_batches() -> None:
    body = _batch([{"model_id": "a", "latency": 1}] * 3)
    first, _ = decode_metric_batch(body, NOW, 10)
    second, _ = decode_metric_batch(body, NOW, 10)
    ids = first.request_id + second.request_id
    assert len(set(ids)) == 6


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"model_id": "a", "latency": -1}, "latency"),
        ({"model_id": "a", "latency": "12"}, "latency"),
        ({"model_id": "a"}, "latency"),
        ({"model_id": "a b", "latency": 1}, "model_id"),
        ({"model_id": "a", "latency": 1, "error_rate": 1.5}, "error_rate"),
        ({"model_id": "a", "latency": 1, "model_type": "audio"}, "model_type"),
        ({"model_id": "a", "latency": 1, "resource_usage": {"memory_mb": -3}}, "resource_usage"),
        ({"model_id": "a", "latency": 1, "tags": {"k": 1}}, "tags"),
        ({"model_id": "a", "latency": 1, "tags": {"k" * 129: "v"}}, "tags"),
        ({"model_id": "a", "latency": 1, "tags": {"k": "v" * 1025}}, "tags"),
        ({"model_id": "a", "latency": 1, "tags": {f"k{i}": "v" for i in range(65)}}, "tags"),
        ({"model_id": "a", "latency": 1, "timestamp": "yesterday"}, "timestamp"),
        ({"model_id": "a", "latency": 1, "timestamp": -1}, "timestamp"),
        ({"model_id": "a", "latency": 1, "request_id": "r" * 129}, "request_id"),
        ({"model_id": "x" * 2_000_000, "latency": 1}, "model_id"),
    ],
)
def test_invalid_items_are_rejected_by_index_and_the_rest_kept(
    item: dict[str, object], field: str
) -> None:
    body = _batch([{"model_id": "ok", "latency": 1}, item, {"model_id": "ok", "latency": 2}])
    cols, rejected = decode_metric_batch(body, NOW, 10_000)
    assert cols.latency == [1.0, 2.0]
    assert [r.index for r in rejected] == [1]
    assert rejected[0].error.startswith(field)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_named_not_called_malformed(literal: bytes) -> None:
    body = b'[{"model_id":"a","latency":1},{"model_id":"a","latency":' + literal + b"}]"
    cols, rejected = decode_metric_batch(body, NOW, 10)
    assert len(cols) == 1
    assert rejected[0].index == 1
    assert "latency" in rejected[0].error and "finite" in rejected[0].error


def test_number_past_float_range_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        decode_metric(b'{"model_id":"a","latency":1e400}', NOW)
    assert caught.value.errors[0].field == "latency"


def test_single_metric_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        decode_metric(json.dumps({"model_id": "a", "latency": -2}).encode(), NOW)
    assert caught.value.errors[0].field == "latency"


@pytest.mark.parametrize("body", [b"{not json", b"", b'[{"model_id": "a",'])
def test_malformed_json_is_its_own_error(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        decode_metric_batch(body, NOW, 10)


@pytest.mark.parametrize("body", [b'{"model_id": "a", "latency": 1}', b'"text"', b"3"])
def test_batch_must_be_an_array(body: bytes) -> None:
    with pytest.raises(ValidationError, match="array"):
        decode_metric_batch(body, NOW, 10)


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        decode_metric_batch(b"[]", NOW, 10)


def test_batch_over_the_item_limit_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_metric_batch(_batch([{"model_id": "a", "latency": 1}] * 11), NOW, 10)


def test_drift_severity_is_computed_from_confidence_when_absent() -> None:
    metric = decode_drift(b'{"model_id":"m","drift_type":"data","confidence":0.91}', NOW)
    assert metric.severity is Severity.HIGH
    assert metric.timestamp == NOW


def test_drift_severity_sent_by_the_client_is_kept() -> None:
    body = b'{"model_id":"m","drift_type":"feature","confidence":0.5,"severity":"critical"}'
    assert decode_drift(body, NOW).severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"model_id":"m","drift_type":"data","confidence":1.2}', "confidence"),
        (b'{"model_id":"m","drift_type":"vibes","confidence":0.2}', "drift_type"),
        (b'{"model_id":"m","drift_type":"data"}', "confidence"),
        (b'{"model_id":"m","drift_type":"data","confidence":NaN}', "confidence"),
    ],
)
def test_invalid_drift_metrics_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        decode_drift(body, NOW)
    assert caught.value.errors[0].field == field
