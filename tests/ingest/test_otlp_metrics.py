"""OTLP metrics into samples, with requests built from the official
opentelemetry-proto messages: every kind of metric, labels, times, what is
rejected, and the same request as protobuf, JSON and gzip."""

from __future__ import annotations

import gzip
import math

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, ResourceMetrics

from monitorx.core import MalformedPayload
from monitorx.ingest.content_encoding import open_body
from monitorx.ingest.otlp_metrics import DecodedMetrics, decode_metrics, parse_metrics_request

NOW_US = 1_767_225_600_000_000
T_NS = 1_767_225_000_123_456_789
T_US = T_NS // 1000


def _attr(key: str, **value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def _request(*metrics: Metric, service: str | None = "checkout") -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource_metrics: ResourceMetrics = request.resource_metrics.add()
    if service is not None:
        resource_metrics.resource.attributes.append(_attr("service.name", string_value=service))
    resource_metrics.resource.attributes.append(_attr("host.name", string_value="node-1"))
    resource_metrics.scope_metrics.add().metrics.extend(metrics)
    return request


def _rows(decoded: DecodedMetrics) -> list[tuple[str, float, int, dict[str, str], str | None]]:
    s = decoded.samples
    return list(zip(s.name, s.value, s.ts_us, s.labels, s.unit, strict=True))


def _gauge(name: str = "queue.depth", value: float = 7.0, **point: object) -> Metric:
    metric = Metric(name=name, unit="1")
    metric.gauge.data_points.add(
        time_unix_nano=T_NS, as_double=value, attributes=[_attr("queue", string_value="a")]
    )
    for key, item in point.items():
        setattr(metric.gauge.data_points[0], key, item)
    return metric


def test_a_gauge_point_is_a_sample_with_its_attributes_and_the_service() -> None:
    decoded = decode_metrics(_request(_gauge()), NOW_US)
    assert _rows(decoded) == [
        ("queue.depth", 7.0, T_US, {"service": "checkout", "queue": "a"}, "1")
    ]
    assert decoded.points == 1 and decoded.rejected == 0 and decoded.point_of_row == [0]


def test_sums_keep_their_values_as_sent_cumulative_and_delta() -> None:
    cumulative = Metric(name="http.requests", unit="{request}")
    cumulative.sum.aggregation_temporality = 2  # CUMULATIVE
    cumulative.sum.is_monotonic = True
    for i, total in enumerate((10, 25, 3)):  # a reset after 25
        cumulative.sum.data_points.add(time_unix_nano=T_NS + i * 10**9, as_int=total)
    delta = Metric(name="bytes.sent", unit="By")
    delta.sum.aggregation_temporality = 1  # DELTA
    delta.sum.data_points.add(time_unix_nano=T_NS, as_double=512.5)
    decoded = decode_metrics(_request(cumulative, delta, service=None), NOW_US)
    assert [(n, v, t) for n, v, t, _, _ in _rows(decoded)] == [
        ("http.requests", 10.0, T_US),
        ("http.requests", 25.0, T_US + 1_000_000),
        ("http.requests", 3.0, T_US + 2_000_000),
        ("bytes.sent", 512.5, T_US),
    ]
    assert decoded.samples.labels[0] == {}, "no service.name: no service label"


def test_non_string_attributes_are_kept_as_text() -> None:
    metric = _gauge()
    metric.gauge.data_points[0].attributes.extend(
        [
            _attr("ok", bool_value=True),
            _attr("code", int_value=503),
            _attr("ratio", double_value=0.25),
            _attr("raw", bytes_value=b"\x01\x02"),
            _attr("tags", array_value=ArrayValue(values=[AnyValue(string_value="x")])),
            _attr("service", string_value="from-the-point"),
        ]
    )
    labels = decode_metrics(_request(metric), NOW_US).samples.labels[0]
    assert labels == {
        "queue": "a",
        "ok": "true",
        "code": "503",
        "ratio": "0.25",
        "raw": "AQI=",
        "tags": '["x"]',
        "service": "from-the-point",
    }


def _histogram() -> Metric:
    metric = Metric(name="http.server.duration", unit="ms")
    metric.histogram.aggregation_temporality = 1
    metric.histogram.data_points.add(
        time_unix_nano=T_NS,
        count=10,
        sum=55.0,
        min=0.5,
        max=9.0,
        explicit_bounds=[1, 2, 5, 10],
        bucket_counts=[1, 2, 3, 4, 0],
        attributes=[_attr("route", string_value="/predict")],
    )
    return metric


def test_a_histogram_point_gives_count_sum_min_max_and_percentiles_from_buckets() -> None:
    decoded = decode_metrics(_request(_histogram()), NOW_US)
    values = {name: value for name, value, *_ in _rows(decoded)}
    # rank 5 of 10 falls in (2, 5] holding ranks 4–6: 2 + 3 × 2/3; rank 9 in (5, 10]:
    # 5 + 5 × 3/4; ranks 9.5 and 9.9 interpolate past the observed max, clamped to it.
    assert values == {
        "http.server.duration.count": 10.0,
        "http.server.duration.sum": 55.0,
        "http.server.duration.min": 0.5,
        "http.server.duration.max": 9.0,
        "http.server.duration.p50": 4.0,
        "http.server.duration.p90": 8.75,
        "http.server.duration.p95": 9.0,
        "http.server.duration.p99": 9.0,
    }
    units = dict(zip(decoded.samples.name, decoded.samples.unit, strict=True))
    assert units["http.server.duration.count"] is None
    assert units["http.server.duration.p99"] == "ms"
    assert set(decoded.point_of_row) == {0}


def test_an_exponential_histogram_point_gives_percentiles_from_its_base2_buckets() -> None:
    metric = Metric(name="payload.size", unit="By")
    point = metric.exponential_histogram.data_points.add(
        time_unix_nano=T_NS, count=8, sum=40.0, scale=0, zero_count=0
    )
    # scale 0: bucket i is (2**i, 2**(i+1)]; offset 1: (2, 4] holds 4, (4, 8] holds 4.
    point.positive.offset = 1
    point.positive.bucket_counts.extend([4, 4])
    values = {n: v for n, v, *_ in _rows(decode_metrics(_request(metric), NOW_US))}
    assert values["payload.size.count"] == 8.0 and values["payload.size.sum"] == 40.0
    assert values["payload.size.p50"] == pytest.approx(4.0)  # rank 4: top of (2, 4]
    assert values["payload.size.p90"] == pytest.approx(4 + 4 * (7.2 - 4) / 4)


def test_a_summary_point_gives_count_sum_and_its_quantiles() -> None:
    metric = Metric(name="rpc.latency", unit="s")
    point = metric.summary.data_points.add(time_unix_nano=T_NS, count=100, sum=12.5)
    for q, v in ((0.5, 0.1), (0.99, 0.9), (0.999, 1.2)):
        point.quantile_values.add(quantile=q, value=v)
    names = [n for n, *_ in _rows(decode_metrics(_request(metric), NOW_US))]
    assert names == [
        "rpc.latency.count",
        "rpc.latency.sum",
        "rpc.latency.p50",
        "rpc.latency.p99",
        "rpc.latency.p99.9",
    ]


def test_a_point_without_time_is_at_the_servers_time() -> None:
    metric = _gauge(time_unix_nano=0)
    assert decode_metrics(_request(metric), NOW_US).samples.ts_us == [NOW_US]


def test_a_point_flagged_without_recorded_value_is_skipped_not_rejected() -> None:
    decoded = decode_metrics(_request(_gauge(flags=1)), NOW_US)
    assert len(decoded.samples) == 0 and decoded.rejected == 0 and decoded.points == 1


@pytest.mark.parametrize(
    ("metric", "reason"),
    [
        (_gauge(value=math.nan), "not finite"),
        (_gauge(value=math.inf), "not finite"),
        (_gauge(name="latency"), "reserved for inference metrics"),
    ],
)
def test_a_point_that_cannot_be_stored_is_rejected_with_its_reason(
    metric: Metric, reason: str
) -> None:
    decoded = decode_metrics(_request(metric, _gauge(name="ok", value=1)), NOW_US)
    assert decoded.samples.name == ["ok"], "the other points are kept"
    assert decoded.rejected == 1 and decoded.points == 2
    assert reason in decoded.message() and "(1 points)" in decoded.message()


def test_a_histogram_whose_buckets_do_not_fit_its_bounds_is_rejected_whole() -> None:
    metric = _histogram()
    del metric.histogram.data_points[0].bucket_counts[-1]
    decoded = decode_metrics(_request(metric), NOW_US)
    assert len(decoded.samples) == 0 and decoded.rejected == 1
    assert "bucket_counts do not fit explicit_bounds" in decoded.message()


def test_a_point_with_too_many_labels_is_rejected() -> None:
    metric = _gauge()
    metric.gauge.data_points[0].attributes.extend(
        _attr(f"k{i}", string_value="v") for i in range(70)
    )
    assert decode_metrics(_request(metric), NOW_US).rejected == 1


def test_names_from_other_characters_become_valid_sample_names() -> None:
    decoded = decode_metrics(_request(_gauge(name="http/server-active requests")), NOW_US)
    assert decoded.samples.name == ["http_server_active_requests"]


def _as_protobuf_json_and_gzip(request: ExportMetricsServiceRequest) -> list[bytes | str]:
    return [request.SerializeToString(), json_format.MessageToJson(request)]


def test_protobuf_json_and_gzip_bodies_give_the_same_samples() -> None:
    request = _request(_gauge(), _histogram())
    protobuf = request.SerializeToString()
    as_json = json_format.MessageToJson(request).encode()
    expected = _rows(decode_metrics(parse_metrics_request(protobuf, json=False), NOW_US))
    for body, is_json in ((as_json, True), (gzip.compress(protobuf), False)):
        opened = open_body(body, "gzip" if body[:2] == b"\x1f\x8b" else None, 10**7)
        got = _rows(decode_metrics(parse_metrics_request(opened, json=is_json), NOW_US))
        assert got == expected
    assert len(expected) == 9


def test_the_otlp_json_mapping_is_read_as_the_spec_writes_it() -> None:
    """lowerCamelCase keys, 64-bit integers as strings, integer enums, unknown fields."""
    body = {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]
                },
                "scopeMetrics": [
                    {
                        "scope": {"name": "my.lib", "futureField": 1},
                        "metrics": [
                            {
                                "name": "jobs.done",
                                "unit": "1",
                                "sum": {
                                    "aggregationTemporality": 2,
                                    "isMonotonic": True,
                                    "dataPoints": [
                                        {
                                            "timeUnixNano": str(T_NS),
                                            "asInt": "9007199254740993",
                                            "attributes": [
                                                {"key": "queue", "value": {"intValue": "3"}}
                                            ],
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        ]
    }
    decoded = decode_metrics(parse_metrics_request(orjson.dumps(body), json=True), NOW_US)
    assert _rows(decoded) == [
        ("jobs.done", 9007199254740992.0, T_US, {"service": "api", "queue": "3"}, "1")
    ]


@pytest.mark.parametrize(
    ("body", "is_json"),
    [(b"\xff\xff\xff", False), (b"{not json", True), (b'{"resourceMetrics": 5}', True)],
)
def test_a_body_that_is_not_otlp_is_malformed(body: bytes, is_json: bool) -> None:
    with pytest.raises(MalformedPayload):
        parse_metrics_request(body, json=is_json)
