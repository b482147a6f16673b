"""POST /write and /api/v2/write on a live server: 204, InfluxDB's partial write and
error bodies, precisions, gzip, limits; raw v1 bodies as Telegraf sends them."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.conftest import in_order, stored_samples

TS_S = 1_767_225_000


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


TELEGRAF_BODY = (
    f"cpu,cpu=cpu0,host=web-1 usage_user=12.5,usage_system=3.25,usage_idle=84.25 {TS_S}000000000\n"
    f"mem,host=web-1 used=8093241344i,available_percent=41.3 {TS_S}000000000\n"
    f"net,host=web-1,interface=eth0 bytes_recv=912u,err_in=0i {TS_S}000000000\n"
    f'system,host=web-1 uptime=3600i,uptime_format="1:00" {TS_S}000000000\n'
)


def test_a_raw_v1_body_is_stored_and_answered_204(
    client: httpx.Client, live_server: LiveServer
) -> None:
    response = client.post("/write", params={"db": "telegraf"}, content=TELEGRAF_BODY)
    assert response.status_code == 204, response.text
    assert response.content == b""
    t = TS_S * 1_000_000
    assert stored_samples(live_server) == in_order(
        [
            ("cpu_usage_user", 12.5, t, {"cpu": "cpu0", "host": "web-1"}, None),
            ("cpu_usage_system", 3.25, t, {"cpu": "cpu0", "host": "web-1"}, None),
            ("cpu_usage_idle", 84.25, t, {"cpu": "cpu0", "host": "web-1"}, None),
            ("mem_used", 8093241344.0, t, {"host": "web-1"}, None),
            ("mem_available_percent", 41.3, t, {"host": "web-1"}, None),
            ("net_bytes_recv", 912.0, t, {"host": "web-1", "interface": "eth0"}, None),
            ("net_err_in", 0.0, t, {"host": "web-1", "interface": "eth0"}, None),
            ("system_uptime", 3600.0, t, {"host": "web-1"}, None),
        ]
    )


# A timestamp in each precision, and the epoch µs it is stored at (finer than µs is cut).
PRECISIONS = {
    "n": ("1767225000123456789", 1_767_225_000_123_456),
    "ns": ("1767225000123456789", 1_767_225_000_123_456),
    "u": ("1767225000123456", 1_767_225_000_123_456),
    "us": ("1767225000123456", 1_767_225_000_123_456),
    "µ": ("1767225000123456", 1_767_225_000_123_456),
    "ms": ("1767225000123", 1_767_225_000_123_000),
    "s": ("1767225000", 1_767_225_000_000_000),
    "m": ("29453750", 1_767_225_000_000_000),
    "h": ("490895", 1_767_222_000_000_000),
}


@pytest.mark.parametrize(
    ("path", "precision"),
    [("/write", p) for p in PRECISIONS] + [("/api/v2/write", p) for p in ("ns", "us", "ms", "s")],
)
def test_the_precision_parameter_scales_timestamps(
    client: httpx.Client, live_server: LiveServer, path: str, precision: str
) -> None:
    sent, ts_us = PRECISIONS[precision]
    response = client.post(path, params={"precision": precision}, content=f"m value=1 {sent}")
    assert response.status_code == 204, response.text
    assert stored_samples(live_server) == [("m", 1.0, ts_us, {}, None)]


def test_escaped_names_tags_and_fields_are_stored_as_their_text(
    client: httpx.Client, live_server: LiveServer
) -> None:
    body = (
        r"disk\ io\,x,dc=eu\ west,path=/a\,b,k\=ey=v\=1 "
        r"value=1.5,free\ pct=0.25 1767225000000000000"
    )
    response = client.post("/write", content=body)
    assert response.status_code == 204, response.text
    labels = {"dc": "eu west", "path": "/a,b", "k=ey": "v=1"}
    t = TS_S * 1_000_000
    assert stored_samples(live_server) == in_order(
        [("disk_io_x", 1.5, t, labels, None), ("disk_io_x_free_pct", 0.25, t, labels, None)]
    )


def test_v1_takes_minutes_and_hours_and_v2_refuses_them(
    client: httpx.Client, live_server: LiveServer
) -> None:
    assert (
        client.post("/write", params={"precision": "h"}, content="m value=1 1").status_code == 204
    )
    assert stored_samples(live_server)[0][2] == 3_600_000_000
    answer = client.post("/api/v2/write", params={"precision": "h"}, content="m value=1 1")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "invalid",
        "message": "invalid precision 'h'; use ns, us, ms or s",
    }
    answer = client.post("/write", params={"precision": "x"}, content="m value=1 1")
    assert answer.status_code == 400 and "invalid precision" in answer.json()["error"]


BODY_WITH_BAD_LINES = (
    f"good value=1 {TS_S}000001000\nbad value=\ngood value=2 {TS_S}000002000\n"
    f"worse,t= value=3\ngood value=4 {TS_S}000003000\n"
)


def test_v1_partial_write_stores_the_good_lines_and_names_the_bad(
    client: httpx.Client, live_server: LiveServer
) -> None:
    response = client.post("/write", content=BODY_WITH_BAD_LINES)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "partial write: 2 of 5 lines refused" in error
    assert "line 2: unable to parse 'bad value=': missing field value" in error
    assert "line 4: unable to parse 'worse,t= value=3': missing tag value" in error
    assert [row[1] for row in stored_samples(live_server)] == [1.0, 2.0, 4.0]


def test_v2_partial_write_answers_influxdb2s_error_shape(
    client: httpx.Client, live_server: LiveServer
) -> None:
    response = client.post(
        "/api/v2/write", params={"bucket": "b", "org": "o"}, content=BODY_WITH_BAD_LINES
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body) == {"code", "message"}
    assert "line 2: unable to parse" in body["message"]
    assert [row[1] for row in stored_samples(live_server)] == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("server_settings", [{"max_series_per_metric": 1}])
def test_lines_past_the_series_limit_are_named_by_line_and_the_rest_stored(
    client: httpx.Client, live_server: LiveServer
) -> None:
    seconds = {"precision": "s"}
    first = client.post("/api/v2/write", content=f"q,id=old value=0 {TS_S}", params=seconds)
    assert first.status_code == 204
    response = client.post(
        "/api/v2/write",
        content=f"q,id=old value=1 {TS_S + 1}\nq,id=new value=2 {TS_S + 1}\n",
        params=seconds,
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert "partial write: 1 of 2 lines refused" in message
    assert "line 2: metric 'q' has reached its limit of 1 label sets" in message
    assert [(row[1], row[3]) for row in stored_samples(live_server)] == [
        (0.0, {"id": "old"}),
        (1.0, {"id": "old"}),
    ]


def test_a_gzip_body_is_accepted(client: httpx.Client, live_server: LiveServer) -> None:
    response = client.post(
        "/api/v2/write",
        content=gzip.compress(b"m value=7\n"),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
    )
    assert response.status_code == 204
    assert stored_samples(live_server)[0][:2] == ("m", 7.0)


def test_a_gzip_bomb_is_413_in_each_shape(client: httpx.Client, live_server: LiveServer) -> None:
    bomb = gzip.compress(b"m value=1\n" * 2_000_000)  # 20 MB once inflated
    headers = {"Content-Encoding": "gzip"}
    v1 = client.post("/write", content=bomb, headers=headers)
    v2 = client.post("/api/v2/write", content=bomb, headers=headers)
    assert v1.status_code == 413 and "once decompressed" in v1.json()["error"]
    assert v2.status_code == 413 and v2.json()["code"] == "request too large"
    assert stored_samples(live_server) == []


def test_a_body_over_the_limit_is_413(client: httpx.Client, live_server: LiveServer) -> None:
    response = client.post("/write", content=b"m value=1\n" * 1_100_000)
    assert response.status_code == 413
    assert stored_samples(live_server) == []


def test_another_content_encoding_is_415(client: httpx.Client) -> None:
    response = client.post("/api/v2/write", content=b"x", headers={"Content-Encoding": "br"})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported media type"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_any_content_type_is_taken_as_influxdb_takes_it(
    client: httpx.Client, live_server: LiveServer, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert client.post("/write", content="m value=1", headers=headers).status_code == 204


def test_a_body_that_is_not_utf8_is_400(client: httpx.Client) -> None:
    response = client.post("/write", content=b"m,t=\xff value=1")
    assert response.status_code == 400 and "not UTF-8" in response.json()["error"]


def test_an_empty_body_stores_nothing_and_is_204(
    client: httpx.Client, live_server: LiveServer
) -> None:
    assert client.post("/api/v2/write", content=b"").status_code == 204
    assert stored_samples(live_server) == []
