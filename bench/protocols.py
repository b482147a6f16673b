"""How fast the standard ways in decode and store, and line protocol against InfluxDB 1.x.

    python bench/protocols.py [--bodies 40] [--lines 5000] [--points 5000]
                              [--requests 20] [--influx-url http://127.0.0.1:8086]
                              [--no-influx] [--no-server]

Prints, for realistic bodies:

- line protocol, 5,000-line bodies of two shapes: one field a line (``value=``,
  3 tags) and Telegraf's ``cpu`` (5 fields, 3 tags): lines/s and samples/s of
  `decode_lines` alone (a body's text to `SampleColumns`);
- OTLP metrics, requests of 5,000 data points (gauges; histograms of 10 buckets),
  protobuf and JSON: data points/s and samples/s of parsing plus `decode_metrics`;
- remote write, 5,000 series of one sample: samples/s of snappy plus
  `decode_write_request`;
- the same line-protocol bodies posted to InfluxDB 1.x's ``/write`` (a fresh
  ``influxd`` on this machine, tests/influxd.py, or ``--influx-url``), one request
  at a time, each acknowledged: InfluxDB's points/s (a point is a line); and to
  ``monitorx serve``'s ``/write`` the same way (its embedded store, durable on
  each 204), which must then count every point through ``/api/v1/metrics/query``;
- through ``monitorx serve`` end to end, each request acknowledged once stored:
  OTLP/HTTP protobuf requests of gauges and of histograms (data points/s and
  samples/s), OTLP/gRPC requests of gauges through the official stub (when grpcio
  is installed), and remote write; the server must then count every sample.

Decoder figures are the best of five runs; the load average is printed before and
after, as other work on the machine moves these figures. The samples are stamped
in the last hour, at distinct microseconds.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cramjam
import httpx
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import free_port, monitorx_server
from tests.influxd import start_influxd

from monitorx.ingest.content_encoding import unsnappy
from monitorx.ingest.line_protocol import decode_lines
from monitorx.ingest.otlp_metrics import decode_metrics, parse_metrics_request
from monitorx.ingest.prompb.remote_write_pb2 import WriteRequest
from monitorx.ingest.remote_write import decode_write_request

# An hour ago, to the second: recent enough for the raw tier, as live traffic is.
START_NS = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000
NOW_US = START_NS // 1000


def line_bodies(shape: str, bodies: int, lines: int) -> list[str]:
    """``bodies`` bodies of ``lines`` lines, at distinct nanoseconds."""
    out = []
    for b in range(bodies):
        rows = []
        for i in range(lines):
            n = b * lines + i
            ts = START_NS + n * 1_000
            if shape == "one-field":
                rows.append(
                    f"request_ms,model=m{n % 20},region=eu-west,host=web-{n % 8} "
                    f"value={(n * 37 % 1000) / 7:.3f} {ts}"
                )
            else:
                rows.append(
                    f"cpu,cpu=cpu{n % 8},host=server{n % 50:02d},region=eu-west "
                    f"usage_user={n % 97 * 0.37:.3f},usage_system={n % 13 * 0.21:.3f},"
                    f"usage_idle={100 - n % 97 * 0.5:.3f},usage_iowait=0.5,usage_steal=0 {ts}"
                )
        out.append("\n".join(rows))
    return out


def otlp_request(
    kind: str, points: int, name: str | None = None, first: int = 0
) -> ExportMetricsServiceRequest:
    """``points`` data points of one metric (``ranker.<kind>`` unless named), the
    i-th at START + (first + i) µs."""
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="ranker"))
    )
    metric = resource.scope_metrics.add().metrics.add(name=name or f"ranker.{kind}", unit="ms")
    for i in range(first, first + points):
        attributes = [
            KeyValue(key="region", value=AnyValue(string_value=f"r{i % 5}")),
            KeyValue(key="model", value=AnyValue(string_value=f"m{i % 20}")),
            KeyValue(key="status", value=AnyValue(int_value=200)),
        ]
        ts = START_NS + i * 1_000
        if kind == "gauge":
            metric.gauge.data_points.add(attributes=attributes, time_unix_nano=ts, as_double=i / 3)
        else:
            metric.histogram.data_points.add(
                attributes=attributes,
                time_unix_nano=ts,
                count=100,
                sum=4_200.0,
                min=1.0,
                max=900.0,
                explicit_bounds=[5, 10, 25, 50, 75, 100, 250, 500, 750],
                bucket_counts=[2, 8, 20, 30, 15, 10, 8, 4, 2, 1],
            )
    return request


def remote_write_body(series: int, first: int = 0) -> bytes:
    """``series`` time series of one sample each, the i-th at START + (first + i) ms."""
    request = WriteRequest()
    for i in range(first, first + series):
        ts = request.timeseries.add()
        ts.labels.add(name="__name__", value=f"node_metric_{i % 50}")
        ts.labels.add(name="instance", value=f"host-{i % 100}:9100")
        ts.labels.add(name="job", value="node")
        ts.samples.add(value=i * 0.5, timestamp=START_NS // 1_000_000 + i)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def best_s(run: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def bench_decoders(lines: int, points: int) -> None:
    for shape in ("one-field", "telegraf-cpu"):
        [body] = line_bodies(shape, 1, lines)
        samples = len(decode_lines(body, NOW_US).samples)
        took = best_s(lambda body=body: decode_lines(body, NOW_US))
        print(
            f"line protocol {shape:>13}: {lines / took:>10,.0f} lines/s "
            f"{samples / took:>10,.0f} samples/s  ({took * 1000:.1f} ms a {lines:,}-line body)"
        )
    for kind in ("gauge", "histogram"):
        request = otlp_request(kind, points)
        for form, raw, as_json in (
            ("protobuf", request.SerializeToString(), False),
            ("json", json_format.MessageToJson(request).encode(), True),
        ):
            samples = len(decode_metrics(parse_metrics_request(raw, as_json), NOW_US).samples)

            def run(raw: bytes = raw, as_json: bool = as_json) -> object:
                return decode_metrics(parse_metrics_request(raw, as_json), NOW_US)

            took = best_s(run)
            print(
                f"OTLP {kind:>9} {form:>8}: {points / took:>10,.0f} points/s "
                f"{samples / took:>10,.0f} samples/s  ({took * 1000:.1f} ms a "
                f"{points:,}-point request)"
            )
    body = remote_write_body(points)
    took = best_s(lambda: decode_write_request(unsnappy(body, 10**8), NOW_US))
    print(f"remote write: {points / took:>10,.0f} samples/s  ({took * 1000:.1f} ms)")


def post_all(
    url: str,
    bodies: list[bytes],
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    ok: int = 204,
) -> list[float]:
    """Seconds each body took to post to ``url``, one at a time, each acknowledged."""
    took = []
    with httpx.Client(timeout=120) as client:
        for body in bodies:
            started = time.perf_counter()
            answer = client.post(url, params=params, content=body, headers=headers)
            took.append(time.perf_counter() - started)
            if answer.status_code != ok:
                raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:300]}")
            if ok == 200 and ExportMetricsServiceResponse.FromString(answer.content).ByteSize():
                raise SystemExit(f"{url} rejected points: {answer.content[:300]!r}")
    return took


def rates(took: list[float], per_body: int) -> str:
    """Points/s over every body, and over all but the first (which opens the series)."""
    every = per_body * len(took) / sum(took)
    rest = per_body * (len(took) - 1) / sum(took[1:])
    return (
        f"{every:>10,.0f} points/s; after the first body {rest:>10,.0f} ({took[0] * 1000:.0f} ms)"
    )


def stored_count(url: str, metric: str) -> int:
    """How many samples of ``metric`` the server holds, through /api/v1/metrics/query."""
    start = datetime.fromtimestamp(START_NS / 1e9, UTC) - timedelta(minutes=1)
    answer = httpx.get(
        f"{url}/api/v1/metrics/query",
        params={
            "metric": metric,
            "agg": "count",
            "interval": "1d",
            "start": start.isoformat(),
            "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        },
        timeout=120,
    )
    answer.raise_for_status()
    return round(sum(p["value"] for s in answer.json()["series"] for p in s["points"]))


def check_stored(url: str, metric: str, expected: int) -> None:
    found = stored_count(url, metric)
    if found != expected:
        raise SystemExit(f"MonitorX holds {found:,} samples of {metric}, not {expected:,}")


def bench_against_influxdb(bodies: int, lines: int, influx_url: str | None) -> None:
    for shape, metric in (("one-field", "request_ms"), ("telegraf-cpu", "cpu_usage_user")):
        payloads = [b.encode() for b in line_bodies(shape, bodies, lines)]
        total = bodies * lines
        took = best_s(
            lambda payloads=payloads: [decode_lines(p.decode(), NOW_US) for p in payloads], 1
        )
        print(f"{shape}: MonitorX decoder alone {total / took:>10,.0f} points/s")
        directory = Path(tempfile.mkdtemp(prefix="monitorx-bench-influxd-"))
        server = None if influx_url else start_influxd(directory)
        url = influx_url or server.url  # type: ignore[union-attr]
        try:
            httpx.post(f"{url}/query", data={"q": "CREATE DATABASE bench"}, timeout=30)
            influx = post_all(f"{url}/write", payloads, {"db": "bench", "precision": "n"})
            print(f"{shape}: InfluxDB 1.x /write:       {rates(influx, lines)}")
        finally:
            if server is not None:
                server.stop()
            shutil.rmtree(directory, ignore_errors=True)
        with monitorx_server() as (monitorx_url, _):
            took = post_all(f"{monitorx_url}/write", payloads, {"db": "bench"})
            check_stored(monitorx_url, metric, total)
        print(f"{shape}: MonitorX /write, stored: {rates(took, lines)}")
        print(
            f"{shape}: MonitorX / InfluxDB {sum(influx) / sum(took):.2f}x; after the first "
            f"body {sum(influx[1:]) / sum(took[1:]):.2f}x"
        )
        gz = [gzip.compress(p) for p in payloads[:3]]
        print(f"{shape}: a body is {len(payloads[0]):,} bytes, {len(gz[0]):,} gzipped")


def _grpc_export_s(port: int, requests: list[ExportMetricsServiceRequest]) -> float:
    """Seconds to export every request over OTLP/gRPC, one at a time."""
    import grpc
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import (
        MetricsServiceStub,
    )

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = MetricsServiceStub(channel)
        started = time.perf_counter()
        for request in requests:
            if stub.Export(request, timeout=120).ByteSize():
                raise SystemExit("OTLP/gRPC rejected points")
        return time.perf_counter() - started


def bench_through_monitorx(requests: int, points: int) -> None:
    """Each way in end to end into a fresh server: acknowledged means stored."""
    grpc_port = free_port() if importlib.util.find_spec("grpc") else None
    env = {"MONITORX_OTLP_GRPC_PORT": str(grpc_port)} if grpc_port else {}
    protobuf = {"Content-Type": "application/x-protobuf"}
    snappy = {**protobuf, "Content-Encoding": "snappy"}
    total = requests * points
    with monitorx_server(env) as (url, _):
        for kind in ("gauge", "histogram"):
            name = f"http.{kind}"
            bodies = [
                otlp_request(kind, points, name, r * points).SerializeToString()
                for r in range(requests)
            ]
            took = sum(post_all(f"{url}/v1/metrics", bodies, headers=protobuf, ok=200))
            check_stored(url, name if kind == "gauge" else f"{name}.count", total)
            samples = 1 if kind == "gauge" else 8  # count, sum, min, max, 4 percentiles
            print(
                f"OTLP/HTTP {kind:>9} protobuf, stored: {total / took:>10,.0f} points/s "
                f"{total * samples / took:>10,.0f} samples/s"
            )
        grpc_requests = [
            otlp_request("gauge", points, "grpc.gauge", r * points) for r in range(requests)
        ]
        took_or_none = _grpc_export_s(grpc_port, grpc_requests)
        if took_or_none is None:
            print('OTLP/gRPC: grpcio is not installed (pip install "monitorx[otlp-grpc]")')
        else:
            check_stored(url, "grpc.gauge", total)
            print(f"OTLP/gRPC     gauge protobuf, stored: {total / took_or_none:>10,.0f} points/s")
        bodies = [remote_write_body(points, r * points) for r in range(requests)]
        took = sum(post_all(f"{url}/api/v1/prom/write", bodies, headers=snappy))
        check_stored(url, "node_metric_0", total // 50)
        print(f"remote write, stored: {total / took:>10,.0f} samples/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=40, help="line-protocol bodies to post")
    parser.add_argument("--lines", type=int, default=5000, help="lines a body")
    parser.add_argument("--points", type=int, default=5000, help="OTLP data points a request")
    parser.add_argument("--requests", type=int, default=20, help="requests a way in, end to end")
    parser.add_argument("--influx-url", help="a running InfluxDB 1.x (default: start influxd)")
    parser.add_argument("--no-influx", action="store_true", help="not against InfluxDB")
    parser.add_argument("--no-server", action="store_true", help="not through monitorx serve")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    bench_decoders(args.lines, args.points)
    if not args.no_influx:
        bench_against_influxdb(args.bodies, args.lines, args.influx_url)
    if not args.no_server:
        bench_through_monitorx(args.requests, args.points)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
