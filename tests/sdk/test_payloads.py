"""Request bodies: timestamps, omitted defaults, and numbers JSON cannot carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from monitorx import MonitorX, ValidationError
from monitorx.sdk.payloads import encode_json, inference_metric, timestamp_value
from tests.sdk.conftest import Peer


def test_naive_datetimes_are_utc() -> None:
    assert timestamp_value(datetime(2026, 11, 22, 12, 0, 0)) == "2026-11-22T12:00:00Z"


def test_aware_datetimes_are_converted_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 22, 13, 0, 0, 500, tzinfo=cet)
    assert timestamp_value(when) == "2026-11-22T12:00:00.000500Z"


def test_epoch_seconds_pass_through() -> None:
    assert timestamp_value(1_700_000_000) == 1_700_000_000.0
    assert timestamp_value(1_700_000_000.25) == 1_700_000_000.25


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True])
def test_timestamps_that_are_not_instants_are_refused(bad: float) -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        timestamp_value(bad)


def test_unset_fields_are_left_out_so_the_server_applies_defaults() -> None:
    assert inference_metric(model_id="m", latency=1.5) == {"model_id": "m", "latency": 1.5}
    full = inference_metric(
        model_id="m",
        latency=1.5,
        error=True,
        tags={"region": "eu"},
        resource_usage={"cpu_percent": 30.0},
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert full["error"] is True
    assert full["timestamp"] == "2026-01-01T00:00:00Z"
    assert full["tags"] == {"region": "eu"}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused_before_sending(value: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        encode_json({"latency": value})


def test_unserializable_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="not JSON serializable"):
        encode_json({"tags": {"a": object()}})


def test_a_nan_metric_raises_validation_error_without_a_request() -> None:
    peer = Peer([])
    client = MonitorX("http://monitorx.test", transport=peer.transport)
    with pytest.raises(ValidationError, match="finite"):
        client.collect_inference_metric(model_id="m", latency=float("nan"))
    assert peer.requests == []


def test_a_nan_item_in_a_batch_is_rejected_by_index_and_the_rest_sent() -> None:
    peer = Peer([httpx.Response(202, json={"accepted": 2, "rejected": []})])
    with MonitorX("http://monitorx.test", transport=peer.transport) as client:
        result = client.collect_inference_metrics_batch(
            [
                {"model_id": "m", "latency": 1.0},
                {"model_id": "m", "latency": float("nan")},
                {"model_id": "m", "latency": 3.0, "timestamp": datetime(2026, 1, 1)},
            ]
        )
    assert result.accepted == 2
    assert [r.index for r in result.rejected] == [1]
    sent = json.loads(peer.requests[0].content)
    assert [item["latency"] for item in sent] == [1.0, 3.0]
    assert sent[1]["timestamp"] == "2026-01-01T00:00:00Z"


def test_a_missing_latency_is_a_validation_error() -> None:
    client = MonitorX("http://monitorx.test", transport=Peer([]).transport)
    with pytest.raises(ValidationError, match="latency"):
        client.collect_inference_metric(model_id="m")


def test_api_key_goes_in_x_api_key_and_base_path_is_added_once() -> None:
    peer = Peer([httpx.Response(200, json={"status": "healthy"})])
    with MonitorX("http://monitorx.test/api/v1/", api_key="k-123", transport=peer.transport) as c:
        c.health()
    assert peer.requests[0].headers["X-API-Key"] == "k-123"
    assert peer.requests[0].url.path == "/api/v1/health"


def test_register_model_puts_the_config_under_its_id() -> None:
    stored = {"id": "fraud-v3", "model_type": "tabular", "name": "Fraud"}
    peer = Peer([httpx.Response(201, json=stored)])
    with MonitorX("http://monitorx.test", transport=peer.transport) as client:
        answer = client.register_model(
            "fraud-v3", "tabular", name="Fraud", thresholds={"latency_ms": 250.0}
        )
    request = peer.requests[0]
    assert (request.method, request.url.path) == ("PUT", "/api/v1/models/fraud-v3")
    assert json.loads(request.content) == {
        "model_type": "tabular",
        "name": "Fraud",
        "thresholds": {"latency_ms": 250.0},
    }
    assert answer == stored


def test_batches_are_split_into_requests_of_at_most_10000() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        count = len(json.loads(request.content))
        # The server rejects the last item of each request, by its index in that request.
        return httpx.Response(
            202, json={"accepted": count - 1, "rejected": [{"index": count - 1, "error": "x"}]}
        )

    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(len(json.loads(request.content)))
        return answer(request)

    metrics = [{"model_id": "m", "latency": float(i)} for i in range(25_000)]
    with MonitorX("http://monitorx.test", transport=httpx.MockTransport(handler)) as client:
        result = client.collect_inference_metrics_batch(metrics)
    assert seen == [10_000, 10_000, 5_000]
    assert result.accepted == 25_000 - 3
    assert [r.index for r in result.rejected] == [9_999, 19_999, 24_999]


def test_get_alerts_sends_only_the_filters_given() -> None:
    peer = Peer([httpx.Response(200, json=[])])
    with MonitorX("http://monitorx.test", transport=peer.transport) as client:
        assert client.get_alerts(model_id="m", alert_type="latency", limit=5) == []
    params = dict(peer.requests[0].url.params)
    assert params == {"model_id": "m", "alert_type": "latency", "limit": "5"}
