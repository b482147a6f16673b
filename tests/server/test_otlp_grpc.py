"""OTLP/gRPC on a live server with auth on (``otlp_grpc_port``): the official
OpenTelemetry SDK's gRPC exporter and the official ``MetricsService`` stub against
it, what they sent read back from the server's store, and the status codes of the
OTLP specification for partial success, bad requests, keys and size."""

from __future__ import annotations

import gzip
import math
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from monitorx.core import MonitorXError
from monitorx.server.app import create_app
from tests.conftest import LiveServer, free_port, make_settings, run_server
from tests.server.conftest import stored_samples

KEY = "grpc-ingest-key-0123456789"
READ_KEY = "grpc-read-key-0123456789"
T_NS = 1_767_225_000_000_000_000
EXPORT = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


@pytest.fixture
def server(tmp_path: Path, server_settings: dict[str, object]) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path / "data",
        auth_enabled=True,
        api_keys=[f"{KEY}:ingest", f"{READ_KEY}:viewer"],
        otlp_grpc_port=free_port(),
        **server_settings,
    )
    with run_server(settings) as live:
        yield live


def _target(server: LiveServer) -> str:
    return f"127.0.0.1:{server.settings.otlp_grpc_port}"


@pytest.fixture
def stub(server: LiveServer) -> Iterator[MetricsServiceStub]:
    with grpc.insecure_channel(_target(server)) as channel:
        yield MetricsServiceStub(channel)


def _gauges(values: list[float], name: str = "queue.depth") -> ExportMetricsServiceRequest:
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


def _provider(server: LiveServer, headers: dict[str, str], gzip: bool = False) -> MeterProvider:
    exporter = OTLPMetricExporter(
        endpoint=f"http://{_target(server)}",
        insecure=True,
        headers=headers,
        compression=grpc.Compression.Gzip if gzip else grpc.Compression.NoCompression,
    )
    # Exports only when flushed: the test decides when.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    return MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "ranker"})
    )


@pytest.mark.parametrize("gzip", [False, True], ids=["identity", "gzip"])
def test_the_otel_sdk_grpc_exporter_exports_a_counter_gauge_and_histogram(
    server: LiveServer, gzip: bool
) -> None:
    provider = _provider(server, {"authorization": f"Bearer {KEY}"}, gzip=gzip)
    meter = provider.get_meter("tests.grpc")
    requests = meter.create_counter("ranker.requests", unit="{request}")
    requests.add(3, {"region": "eu"})
    requests.add(2, {"region": "eu"})
    requests.add(7, {"region": "us"})
    meter.create_gauge("gpu.temperature", unit="Cel").set(64.5, {"gpu": "0"})
    duration = meter.create_histogram("ranker.duration", unit="ms")
    for value in (3, 7, 12, 40, 90, 180, 300, 700):
        duration.record(value, {"route": "/rank"})
    assert provider.force_flush(10_000)
    rows = stored_samples(server)  # before shutdown, which exports the same totals again
    provider.shutdown()
    service = {"service": "ranker"}
    requests_by_region = {row[3]["region"]: row for row in rows if row[0] == "ranker.requests"}
    assert {r: (row[1], row[3], row[4]) for r, row in requests_by_region.items()} == {
        "eu": (5.0, {**service, "region": "eu"}, "{request}"),
        "us": (7.0, {**service, "region": "us"}, "{request}"),
    }
    [gauge] = [row for row in rows if row[0] == "gpu.temperature"]
    assert (gauge[1], gauge[3], gauge[4]) == (64.5, {**service, "gpu": "0"}, "Cel")
    histogram = {row[0]: row[1] for row in rows if row[0].startswith("ranker.duration")}
    assert histogram["ranker.duration.count"] == 8.0
    assert histogram["ranker.duration.sum"] == 1332.0
    assert histogram["ranker.duration.p50"] == 50.0  # the top of (25, 50], as over HTTP


@pytest.mark.parametrize(
    "metadata",
    [{"x-api-key": KEY}, {"authorization": f"Token {KEY}"}],
    ids=["x-api-key", "token"],
)
def test_a_key_is_taken_in_each_form_the_http_routes_take(
    server: LiveServer, stub: MetricsServiceStub, metadata: dict[str, str]
) -> None:
    answer = stub.Export(_gauges([3.0]), metadata=list(metadata.items()), timeout=10)
    assert not answer.HasField("partial_success")
    assert stored_samples(server) == [
        ("queue.depth", 3.0, T_NS // 1000, {"service": "worker", "queue": "q0"}, "1")
    ]


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ([], grpc.StatusCode.UNAUTHENTICATED),
        ([("authorization", "Bearer wrong")], grpc.StatusCode.UNAUTHENTICATED),
        ([("x-api-key", READ_KEY)], grpc.StatusCode.PERMISSION_DENIED),
    ],
    ids=["no-key", "wrong-key", "read-key"],
)
def test_a_call_without_a_write_key_is_refused_and_stores_nothing(
    server: LiveServer,
    stub: MetricsServiceStub,
    metadata: list[tuple[str, str]],
    code: grpc.StatusCode,
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.Export(_gauges([1.0]), metadata=metadata, timeout=10)
    assert raised.value.code() == code  # type: ignore[attr-defined]
    assert stored_samples(server) == []


def test_the_sdk_exporter_with_a_wrong_key_fails_without_retrying(server: LiveServer) -> None:
    exporter = OTLPMetricExporter(
        endpoint=f"http://{_target(server)}", insecure=True, headers={"x-api-key": "wrong"}
    )
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter("c").add(1)
    data = reader.get_metrics_data()
    assert data is not None
    assert exporter.export(data, timeout_millis=10_000).name == "FAILURE"
    assert stored_samples(server) == []


@pytest.mark.parametrize("server_settings", [{"max_series_per_metric": 1}])
def test_rejected_points_are_a_partial_success_and_the_rest_is_stored(
    server: LiveServer, stub: MetricsServiceStub
) -> None:
    # q0 opens the metric's one series; q1 is not finite; q2 would open a second.
    answer = stub.Export(_gauges([1.0, math.nan, 3.0]), metadata=[("x-api-key", KEY)], timeout=10)
    assert answer.partial_success.rejected_data_points == 2
    message = answer.partial_success.error_message
    assert "queue.depth is not finite (1 points)" in message
    assert "metric 'queue.depth' has reached its limit of 1 label sets" in message
    assert [row[3]["queue"] for row in stored_samples(server)] == ["q0"]


def test_a_message_that_is_not_a_request_is_invalid_argument(server: LiveServer) -> None:
    with grpc.insecure_channel(_target(server)) as channel:
        export = channel.unary_unary(EXPORT)  # bytes in, bytes out
        with pytest.raises(grpc.RpcError) as raised:
            export(b"\x0a\xff\xff\xff\xff\x0f", metadata=[("x-api-key", KEY)], timeout=10)
    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "not an OTLP protobuf" in error.details()  # type: ignore[attr-defined]
    assert stored_samples(server) == []


@pytest.mark.parametrize("server_settings", [{"max_body_bytes": 100_000}])
@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip])
def test_a_message_past_the_body_limit_is_resource_exhausted_even_compressed(
    server: LiveServer, stub: MetricsServiceStub, compression: grpc.Compression
) -> None:
    request = _gauges([1.0] * 3_000)
    size = request.ByteSize()
    assert size > 100_000 and len(gzip.compress(request.SerializeToString())) < 100_000
    with pytest.raises(grpc.RpcError) as raised:
        stub.Export(request, metadata=[("x-api-key", KEY)], compression=compression, timeout=10)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    assert stored_samples(server) == []
    # Under the limit, the same server stores it.
    stub.Export(_gauges([2.0]), metadata=[("x-api-key", KEY)], timeout=10)
    assert [row[1] for row in stored_samples(server)] == [2.0]


def test_a_port_in_use_is_an_error_naming_it(server: LiveServer) -> None:
    from monitorx.server.otlp_grpc import OtlpGrpcServer

    services = server.services
    port = server.settings.otlp_grpc_port
    assert port is not None
    second = OtlpGrpcServer(
        services.ingest, services.auth, services.clock, ("127.0.0.1", port), 1000
    )
    with pytest.raises(MonitorXError, match=f"OTLP/gRPC cannot listen on 127.0.0.1:{port}"):
        server.on_loop(second.start())
    with socket.socket() as taken:  # and a port another program holds
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        other = OtlpGrpcServer(
            services.ingest, services.auth, services.clock, taken.getsockname(), 1000
        )
        with pytest.raises(MonitorXError, match="cannot listen"):
            server.on_loop(other.start())


def test_without_grpcio_the_setting_is_an_error_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if grpcio were not installed: importing it fails.
    monkeypatch.setitem(sys.modules, "grpc", None)
    monkeypatch.delitem(sys.modules, "monitorx.server.otlp_grpc", raising=False)
    settings = make_settings(tmp_path / "data", otlp_grpc_port=free_port())
    with pytest.raises(MonitorXError, match=r'pip install "monitorx\[otlp-grpc\]"'):
        create_app(settings)
    # Without the setting, the server needs no grpcio.
    with run_server(make_settings(tmp_path / "other")) as live:
        assert live.services.settings.otlp_grpc_port is None


def test_the_grpc_server_stops_with_the_app(tmp_path: Path) -> None:
    port = free_port()
    with (
        run_server(make_settings(tmp_path / "data", otlp_grpc_port=port)),
        grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        MetricsServiceStub(channel).Export(_gauges([1.0]), timeout=10)
    with socket.socket() as again:  # the port is free once the server stopped
        again.bind(("127.0.0.1", port))


def test_the_service_name_is_the_official_one() -> None:
    from monitorx.server.otlp_grpc import METHOD, SERVICE

    assert f"/{SERVICE}/{METHOD}" == EXPORT
