"""End to end with the real clients, against a live server with auth on: the
official OpenTelemetry Python SDK and its OTLP/HTTP exporter, and InfluxDB 2's
Python client (influxdb-client) with its Token auth. What their requests became is
read from the server's own store (tests/server/conftest.py);
tests/server/test_protocols_readback.py reads samples back over the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableGauge,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from tests.conftest import LiveServer, make_settings, run_server
from tests.server.conftest import in_order, stored_samples

KEY = "ingest-key-0123456789"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=[f"{KEY}:ingest"])
    with run_server(settings) as live:
        yield live


def _provider(server: LiveServer, delta: bool = False, gzip: bool = False) -> MeterProvider:
    temporality = AggregationTemporality.DELTA if delta else AggregationTemporality.CUMULATIVE
    exporter = OTLPMetricExporter(
        endpoint=f"{server.url}/v1/metrics",
        headers={"Authorization": f"Bearer {KEY}"},
        compression=Compression.Gzip if gzip else Compression.NoCompression,
        preferred_temporality={
            Counter: temporality,
            UpDownCounter: AggregationTemporality.CUMULATIVE,
            Histogram: temporality,
            ObservableGauge: AggregationTemporality.CUMULATIVE,
        },
    )
    # Exports only when flushed: the test decides when.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": "ranker"})
    return MeterProvider(metric_readers=[reader], resource=resource)


def _record(provider: MeterProvider) -> None:
    meter = provider.get_meter("tests.protocols")
    requests = meter.create_counter("ranker.requests", unit="{request}")
    in_flight = meter.create_up_down_counter("ranker.in_flight")
    temperature = meter.create_gauge("gpu.temperature", unit="Cel")
    duration = meter.create_histogram("ranker.duration", unit="ms")
    requests.add(3, {"region": "eu"})
    requests.add(2, {"region": "eu"})
    requests.add(7, {"region": "us"})
    in_flight.add(5)
    in_flight.add(-2)
    temperature.set(64.5, {"gpu": "0"})
    for value in (3, 7, 12, 40, 90, 180, 300, 700):
        duration.record(value, {"route": "/rank"})


@pytest.mark.parametrize("gzip", [False, True], ids=["identity", "gzip"])
def test_the_otel_sdk_exports_a_counter_up_down_counter_gauge_and_histogram(
    server: LiveServer, gzip: bool
) -> None:
    provider = _provider(server, gzip=gzip)
    _record(provider)
    assert provider.force_flush(10_000)
    rows = stored_samples(server)  # before shutdown, which exports the same totals again
    provider.shutdown()
    service = {"service": "ranker"}
    requests = {row[3]["region"]: row for row in rows if row[0] == "ranker.requests"}
    assert {region: (row[1], row[3], row[4]) for region, row in requests.items()} == {
        "eu": (5.0, {**service, "region": "eu"}, "{request}"),
        "us": (7.0, {**service, "region": "us"}, "{request}"),
    }
    assert [(row[1], row[3]) for row in rows if row[0] == "ranker.in_flight"] == [(3.0, service)]
    [gauge] = [row for row in rows if row[0] == "gpu.temperature"]
    assert gauge[1] == 64.5 and gauge[3] == {**service, "gpu": "0"} and gauge[4] == "Cel"
    by_name = {row[0]: row[1] for row in rows if row[0].startswith("ranker.duration")}
    assert by_name["ranker.duration.count"] == 8.0
    assert by_name["ranker.duration.sum"] == 1332.0
    assert by_name["ranker.duration.min"] == 3.0 and by_name["ranker.duration.max"] == 700.0
    # The SDK's default bounds 0,5,10,25,50,75,100,250,500,750,1000,…: rank 4 of 8
    # falls in (25, 50], the only one there: its top.
    assert by_name["ranker.duration.p50"] == 50.0
    assert 500 < by_name["ranker.duration.p99"] <= 700
    now_us = datetime.now(UTC).timestamp() * 1e6
    assert all(abs(row[2] - now_us) < 60e6 for row in rows)


def test_delta_temporality_exports_the_increase_of_each_interval(
    server: LiveServer,
) -> None:
    provider = _provider(server, delta=True)
    counter = provider.get_meter("t").create_counter("jobs.done")
    counter.add(4)
    assert provider.force_flush(10_000)
    counter.add(6)
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert [row[1] for row in stored_samples(server, "jobs.done")] == [4.0, 6.0]


def test_the_otel_sdk_with_a_wrong_key_stores_nothing(
    server: LiveServer,
) -> None:
    exporter = OTLPMetricExporter(
        endpoint=f"{server.url}/v1/metrics", headers={"Authorization": "Bearer wrong"}
    )
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter("c").add(1)
    data = reader.get_metrics_data()
    assert data is not None
    assert exporter.export(data).name == "FAILURE"
    assert stored_samples(server) == []


@pytest.fixture
def influx(server: LiveServer) -> Iterator[InfluxDBClient]:
    with InfluxDBClient(url=server.url, token=KEY, org="acme", enable_gzip=False) as client:
        yield client


def test_influxdb_client_writes_points_through_api_v2_write(
    server: LiveServer, influx: InfluxDBClient
) -> None:
    when = datetime(2026, 1, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    points = [
        Point("queue").tag("name", "emails").tag("dc", "eu west").field("value", 42).time(when),
        Point("queue")
        .tag("name", "emails")
        .tag("dc", "eu west")
        .field("oldest_s", 12.5)
        .field("paused", False)
        .field("note", "ignored, as a string")
        .time(when),
    ]
    influx.write_api(write_options=SYNCHRONOUS).write(bucket="ops", record=points)
    ts_us = int(when.timestamp() * 1_000_000)
    labels = {"name": "emails", "dc": "eu west"}
    assert stored_samples(server) == in_order(
        [
            ("queue", 42.0, ts_us, labels, None),
            ("queue_oldest_s", 12.5, ts_us, labels, None),
            ("queue_paused", 0.0, ts_us, labels, None),
        ]
    )


def test_influxdb_client_with_gzip_and_seconds(server: LiveServer) -> None:
    with InfluxDBClient(url=server.url, token=KEY, org="acme", enable_gzip=True) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket="ops",
            record="disk,path=/data used_percent=71.5 1767268800",
            write_precision=WritePrecision.S,
        )
    assert stored_samples(server) == [
        ("disk_used_percent", 71.5, 1_767_268_800_000_000, {"path": "/data"}, None)
    ]


def test_influxdb_client_sees_the_partial_write_as_an_error_naming_the_line(
    server: LiveServer, influx: InfluxDBClient
) -> None:
    with pytest.raises(ApiException) as raised:
        influx.write_api(write_options=SYNCHRONOUS).write(
            bucket="ops", record="ok value=1 1000\nbroken value=\nok value=2 2000"
        )
    assert raised.value.status == 400
    assert "line 2: unable to parse 'broken value=': missing field value" in raised.value.body
    assert [(row[1], row[2]) for row in stored_samples(server)] == [(1.0, 1), (2.0, 2)]
