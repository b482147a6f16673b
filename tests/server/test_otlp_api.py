"""POST /v1/metrics on a live server, as the OTLP/HTTP specification has it:
protobuf and JSON, gzip, 200 with an ExportMetricsServiceResponse in the request's
content type, partial success, 400 with a Status, 413, 415."""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator

import httpx
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.conftest import LiveServer
from tests.server.conftest import stored_samples

T_NS = 1_767_225_000_000_000_000
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def _request(values: list[float], name: str = "queue.depth") -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="worker"))
    )
    metric = resource.scope_metrics.add().metrics.add(name=name, unit="1")
    for i, value in enumerate(values):
        metric.gauge.data_points.add(
            time_unix_nano=T_NS + i * 1000,
            as_double=value,
            attributes=[KeyValue(key="queue", value=AnyValue(string_value=f"q{i}"))],
        )
    return request


def test_a_protobuf_export_is_stored_and_answered_with_an_empty_response(
    client: httpx.Client, live_server: LiveServer
) -> None:
    response = client.post(
        "/v1/metrics", content=_request([3, 4]).SerializeToString(), headers=PROTOBUF
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")
    assert stored_samples(live_server) == [
        ("queue.depth", 3.0, T_NS // 1000, {"service": "worker", "queue": "q0"}, "1"),
        ("queue.depth", 4.0, (T_NS + 1000) // 1000, {"service": "worker", "queue": "q1"}, "1"),
    ]


def test_a_json_export_is_answered_in_json(client: httpx.Client, live_server: LiveServer) -> None:
    body = json_format.MessageToJson(_request([5]))
    response = client.post("/v1/metrics", content=body, headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    assert [row[1] for row in stored_samples(live_server)] == [5.0]


@pytest.mark.parametrize("headers", [PROTOBUF, JSON])
def test_a_gzip_export_is_accepted(
    client: httpx.Client, live_server: LiveServer, headers: dict[str, str]
) -> None:
    request = _request([6])
    raw = (
        request.SerializeToString()
        if headers is PROTOBUF
        else json_format.MessageToJson(request).encode()
    )
    response = client.post(
        "/v1/metrics", content=gzip.compress(raw), headers={**headers, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert [row[1] for row in stored_samples(live_server)] == [6.0]


@pytest.mark.parametrize("server_settings", [{"max_series_per_metric": 1}])
def test_rejected_points_are_a_partial_success_and_the_rest_is_stored(
    client: httpx.Client, live_server: LiveServer
) -> None:
    # q0 opens the metric's one series; q1 is not finite; q2 would open a second.
    body = _request([1, math.nan, 3]).SerializeToString()
    response = client.post("/v1/metrics", content=body, headers=PROTOBUF)
    assert response.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_data_points == 2
    assert "queue.depth: value is not finite" not in partial.error_message
    assert "queue.depth is not finite (1 points)" in partial.error_message
    assert (
        "metric 'queue.depth' has reached its limit of 1 label sets; this sample would open "
        "another (1 points)" in partial.error_message
    )
    assert [row[3]["queue"] for row in stored_samples(live_server)] == ["q0"]


def test_partial_success_in_json_uses_the_otlp_json_mapping(
    client: httpx.Client, live_server: LiveServer
) -> None:
    body = json_format.MessageToJson(_request([1]))
    body = body.replace('"asDouble": 1.0', '"asDouble": "NaN"')
    response = client.post("/v1/metrics", content=body, headers=JSON)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "1"
    assert "not finite" in partial["errorMessage"]


@pytest.mark.parametrize(
    ("body", "headers"), [(b"\xff\xfe\xfd", PROTOBUF), (b"{oops", JSON), (b"[]", JSON)]
)
def test_a_body_that_does_not_parse_is_400_with_a_status(
    client: httpx.Client, live_server: LiveServer, body: bytes, headers: dict[str, str]
) -> None:
    response = client.post("/v1/metrics", content=body, headers=headers)
    assert response.status_code == 400
    if headers is PROTOBUF:
        status = Status.FromString(response.content)
    else:
        status = json_format.Parse(response.text, Status())
    assert status.code == 3 and "not" in status.message
    assert stored_samples(live_server) == []


def test_another_content_type_is_415(client: httpx.Client) -> None:
    response = client.post("/v1/metrics", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/x-protobuf" in response.json()["message"]


def test_a_gzip_bomb_is_413(client: httpx.Client, live_server: LiveServer) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    response = client.post(
        "/v1/metrics", content=bomb, headers={**PROTOBUF, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert "once decompressed" in Status.FromString(response.content).message
    assert stored_samples(live_server) == []
