"""Samples sent through each standard way in are read back through
``GET /api/v1/metrics/query`` as API.md defines it, from the real store."""

from __future__ import annotations

import time

import cramjam
import httpx
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from monitorx.ingest.prompb.remote_write_pb2 import WriteRequest
from tests.conftest import LiveServer


def _last(api: httpx.Client, metric: str, group_by: str) -> dict[str, float]:
    """The last value of each group, by the group's label value."""
    response = api.get(
        "/metrics/query",
        params={"metric": metric, "agg": "last", "interval": "1h", "group_by": group_by},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metric"] == metric and body["agg"] == "last"
    return {s["labels"][group_by]: s["points"][-1]["value"] for s in body["series"]}


def test_line_protocol_samples_are_read_back(live_server: LiveServer, api: httpx.Client) -> None:
    now_ns = time.time_ns()
    body = f"ranker_ctr,region=eu value=0.031 {now_ns}\nranker_ctr,region=us value=0.027 {now_ns}"
    assert httpx.post(f"{live_server.url}/api/v2/write", content=body).status_code == 204
    assert _last(api, "ranker_ctr", "region") == {"eu": 0.031, "us": 0.027}


def test_otlp_samples_are_read_back(live_server: LiveServer, api: httpx.Client) -> None:
    exporter = OTLPMetricExporter(endpoint=f"{live_server.url}/v1/metrics")
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": "ranker"})
    provider = MeterProvider(metric_readers=[reader], resource=resource)
    provider.get_meter("t").create_gauge("queue.depth").set(12, {"queue": "emails"})
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert _last(api, "queue.depth", "service") == {"ranker": 12.0}


def test_remote_write_samples_are_read_back(live_server: LiveServer, api: httpx.Client) -> None:
    request = WriteRequest()
    series = request.timeseries.add()
    series.labels.add(name="__name__", value="node_load1")
    series.labels.add(name="instance", value="a:9100")
    series.samples.add(value=0.7, timestamp=int(time.time() * 1000))
    answer = httpx.post(
        f"{live_server.api}/prom/write",
        content=bytes(cramjam.snappy.compress_raw(request.SerializeToString())),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"},
    )
    assert answer.status_code == 204
    assert _last(api, "node_load1", "instance") == {"a:9100": 0.7}
