"""Prometheus remote write 1.0 into samples: requests built with the compiled
WriteRequest messages and compressed with snappy's block format, as Prometheus
sends them."""

from __future__ import annotations

import math
import struct

import cramjam
import pytest

from monitorx.core import MalformedPayload, PayloadTooLarge
from monitorx.ingest.content_encoding import unsnappy
from monitorx.ingest.prompb.remote_write_pb2 import WriteRequest
from monitorx.ingest.remote_write import decode_write_request

NOW_US = 1_767_225_600_000_000
T_MS = 1_767_225_000_123


def _series(request: WriteRequest, labels: dict[str, str], *samples: tuple[float, int]) -> None:
    series = request.timeseries.add()
    for name, value in sorted(labels.items()):
        series.labels.add(name=name, value=value)
    for value, ts_ms in samples:
        series.samples.add(value=value, timestamp=ts_ms)


def _snappy(request: WriteRequest) -> bytes:
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def test_each_sample_of_each_series_is_a_row_named_by_its_name_label() -> None:
    request = WriteRequest()
    _series(
        request,
        {"__name__": "http_requests_total", "job": "api", "code": "200"},
        (10, T_MS),
        (15, T_MS + 15_000),
    )
    _series(request, {"__name__": "node_load1", "instance": "a:9100"}, (0.7, T_MS))
    decoded = decode_write_request(unsnappy(_snappy(request), 10**7), NOW_US)
    s = decoded.samples
    assert list(zip(s.name, s.value, s.ts_us, s.labels, strict=True)) == [
        ("http_requests_total", 10.0, T_MS * 1000, {"code": "200", "job": "api"}),
        ("http_requests_total", 15.0, (T_MS + 15_000) * 1000, {"code": "200", "job": "api"}),
        ("node_load1", 0.7, T_MS * 1000, {"instance": "a:9100"}),
    ]
    assert decoded.series_of_row == [0, 0, 1] and decoded.problems == []


def test_staleness_markers_and_other_non_finite_values_are_skipped() -> None:
    stale_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
    request = WriteRequest()
    _series(request, {"__name__": "up"}, (1, T_MS), (stale_nan, T_MS + 1), (math.inf, T_MS + 2))
    decoded = decode_write_request(request.SerializeToString(), NOW_US)
    assert decoded.samples.value == [1.0] and decoded.skipped == 2 and decoded.problems == []


def test_series_that_cannot_be_stored_are_named_and_the_others_kept() -> None:
    request = WriteRequest()
    _series(request, {"job": "x"}, (1, T_MS))
    _series(request, {"__name__": "latency"}, (1, T_MS))
    _series(request, {"__name__": "too_many", **{f"l{i}": "v" for i in range(65)}}, (1, T_MS))
    _series(request, {"__name__": "before_1970"}, (1, -1000))
    _series(request, {"__name__": "fine"}, (2, T_MS))
    decoded = decode_write_request(request.SerializeToString(), NOW_US)
    assert decoded.samples.name == ["fine"]
    assert decoded.problems == [
        "series 0: no __name__ label",
        "latency: metric name 'latency' is reserved for inference metrics",
        "too_many: 65 labels; at most 64 are allowed",
        "before_1970: timestamp before 1970",
    ]


def test_a_name_with_other_characters_becomes_a_valid_sample_name() -> None:
    request = WriteRequest()
    _series(request, {"__name__": "1weird-name"}, (1, T_MS))
    assert decode_write_request(request.SerializeToString(), NOW_US).samples.name == [
        "m_1weird_name"
    ]


def test_a_body_that_is_not_a_write_request_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="not a remote write WriteRequest"):
        decode_write_request(b"\x0a\xff\xff\xff\xff\x0f", NOW_US)


def test_a_body_that_is_not_snappy_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="snappy"):
        unsnappy(b"\x10this is not snappy", 10**7)


def test_a_snappy_body_that_would_inflate_past_the_limit_is_refused_before_inflating() -> None:
    body = bytes(cramjam.snappy.compress_raw(b"\0" * 2_000_000))
    assert len(body) < 100_000
    with pytest.raises(PayloadTooLarge, match="1,000,000-byte limit once decompressed"):
        unsnappy(body, 1_000_000)
