"""POST /api/v1/prom/write on a live server: remote write 1.0 as Prometheus sends it
(snappy block format, protobuf WriteRequest, its headers), 204, and the 4xx it must
not retry."""

from __future__ import annotations

from collections.abc import Iterator

import cramjam
import httpx
import pytest

from monitorx.ingest.prompb.remote_write_pb2 import WriteRequest
from tests.backends import api_backend
from tests.conftest import LiveServer
from tests.server.conftest import stored_samples

T_MS = 1_767_225_000_000
HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "Prometheus/2.53.0",
}


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.api, timeout=30) as client:
        yield client


def _body(*series: tuple[dict[str, str], float], at_ms: int = T_MS) -> bytes:
    request = WriteRequest()
    for labels, value in series:
        ts = request.timeseries.add()
        for name, label_value in sorted(labels.items()):
            ts.labels.add(name=name, value=label_value)
        ts.samples.add(value=value, timestamp=at_ms)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def test_a_remote_write_is_stored_and_answered_204(
    client: httpx.Client, live_server: LiveServer
) -> None:
    body = _body(({"__name__": "up", "job": "node", "instance": "a:9100"}, 1.0))
    response = client.post("/prom/write", content=body, headers=HEADERS)
    assert response.status_code == 204, response.text
    assert stored_samples(live_server) == [
        ("up", 1.0, T_MS * 1000, {"instance": "a:9100", "job": "node"}, None)
    ]


@pytest.mark.parametrize("server_settings", [{"max_series_per_metric": 1}])
def test_refused_series_are_400_naming_them_and_the_rest_is_stored(
    client: httpx.Client, live_server: LiveServer
) -> None:
    first = _body(({"__name__": "busy", "pool": "a"}, 1.0))
    assert client.post("/prom/write", content=first, headers=HEADERS).status_code == 204
    body = _body(
        ({"__name__": "latency"}, 1.0),
        ({"__name__": "busy", "pool": "b"}, 2.0),
        ({"__name__": "ok"}, 3.0),
        ({"__name__": "busy", "pool": "a"}, 4.0),
        at_ms=T_MS + 1000,
    )
    response = client.post("/prom/write", content=body, headers=HEADERS)
    assert response.status_code == 400
    assert "latency: metric name 'latency' is reserved" in response.text
    assert "busy: metric 'busy' has reached its limit of 1 label sets" in response.text
    assert [(row[0], row[1], row[3]) for row in stored_samples(live_server)] == [
        ("busy", 1.0, {"pool": "a"}),
        ("busy", 4.0, {"pool": "a"}),
        ("ok", 3.0, {}),
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"\x05not snappy", "snappy"),
        (bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff\xff\x0f")), "WriteRequest"),
    ],
)
def test_a_body_that_is_not_snappy_protobuf_is_400_with_a_message(
    client: httpx.Client, live_server: LiveServer, body: bytes, words: str
) -> None:
    response = client.post("/prom/write", content=body, headers=HEADERS)
    assert response.status_code == 400 and words in response.text
    assert stored_samples(live_server) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
    ],
)
def test_other_formats_and_remote_write_2_are_415(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    assert client.post("/prom/write", content=b"x", headers=headers).status_code == 415


def test_the_v1_proto_parameter_is_accepted(client: httpx.Client, live_server: LiveServer) -> None:
    headers = {**HEADERS, "Content-Type": "application/x-protobuf;proto=prometheus.WriteRequest"}
    assert (
        client.post(
            "/prom/write", content=_body(({"__name__": "up"}, 1)), headers=headers
        ).status_code
        == 204
    )


def test_a_snappy_body_past_the_limit_once_decompressed_is_413(client: httpx.Client) -> None:
    body = bytes(cramjam.snappy.compress_raw(b"\0" * 11_000_000))
    response = client.post("/prom/write", content=body, headers=HEADERS)
    assert response.status_code == 413


def test_a_sample_later_than_the_store_keeps_is_refused_by_series_and_the_rest_stored(
    client: httpx.Client, live_server: LiveServer
) -> None:
    far_ms = 10_000_000_000_000  # 2286-11-20: past InfluxDB's nanoseconds, not the API's 9999
    request = WriteRequest()
    for name, at_ms in (("far", far_ms), ("near", T_MS)):
        series = request.timeseries.add()
        series.labels.add(name="__name__", value=name)
        series.samples.add(value=1.0, timestamp=at_ms)
    body = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
    response = client.post("/prom/write", content=body, headers=HEADERS)
    stored = [(row[0], row[2]) for row in stored_samples(live_server)]
    if api_backend() == "influx":
        assert response.status_code == 400
        assert (
            "far: timestamp after 2262-04-11T23:47:16Z, the last this store keeps" in response.text
        )
        assert stored == [("near", T_MS * 1000)]
    else:
        assert response.status_code == 204, response.text
        assert stored == [("far", far_ms * 1000), ("near", T_MS * 1000)]
