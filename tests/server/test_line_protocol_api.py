"""POST /write and /api/v2/write on a live server: 204, InfluxDB's partial write and
error bodies, precisions, gzip, limits; raw v1 bodies as Telegraf sends them."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.server.conftest import ReceivedSamples

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
    client: httpx.Client, received: ReceivedSamples
) -> None:
    response = client.post("/write", params={"db": "telegraf"}, content=TELEGRAF_BODY)
    assert response.status_code == 204, response.text
    assert response.content == b""
    t = TS_S * 1_000_000
    assert received.rows == [
        ("cpu_usage_user", 12.5, t, {"cpu": "cpu0", "host": "web-1"}, None),
        ("cpu_usage_system", 3.25, t, {"cpu": "cpu0", "host": "web-1"}, None),
        ("cpu_usage_idle", 84.25, t, {"cpu": "cpu0", "host": "web-1"}, None),
        ("mem_used", 8093241344.0, t, {"host": "web-1"}, None),
        ("mem_available_percent", 41.3, t, {"host": "web-1"}, None),
        ("net_bytes_recv", 912.0, t, {"host": "web-1", "interface": "eth0"}, None),
        ("net_err_in", 0.0, t, {"host": "web-1", "interface": "eth0"}, None),
        ("system_uptime", 3600.0, t, {"host": "web-1"}, None),
    ]


@pytest.mark.parametrize(("path", "precision"), [("/write", "s"), ("/api/v2/write", "s")])
def test_the_precision_parameter_scales_timestamps(
    client: httpx.Client, received: ReceivedSamples, path: str, precision: str
) -> None:
    response = client.post(path, params={"precision": precision}, content=f"m value=1 {TS_S}")
    assert response.status_code == 204
    assert received.rows[0][2] == TS_S * 1_000_000


def test_v1_takes_minutes_and_hours_and_v2_refuses_them(
    client: httpx.Client, received: ReceivedSamples
) -> None:
    assert (
        client.post("/write", params={"precision": "h"}, content="m value=1 1").status_code == 204
    )
    assert received.rows[0][2] == 3_600_000_000
    answer = client.post("/api/v2/write", params={"precision": "h"}, content="m value=1 1")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "invalid",
        "message": "invalid precision 'h'; use ns, us, ms or s",
    }
    answer = client.post("/write", params={"precision": "x"}, content="m value=1 1")
    assert answer.status_code == 400 and "invalid precision" in answer.json()["error"]


BODY_WITH_BAD_LINES = "good value=1\nbad value=\ngood value=2\nworse,t= value=3\ngood value=4\n"


def test_v1_partial_write_stores_the_good_lines_and_names_the_bad(
    client: httpx.Client, received: ReceivedSamples
) -> None:
    response = client.post("/write", content=BODY_WITH_BAD_LINES)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "partial write: 2 of 5 lines refused" in error
    assert "line 2: unable to parse 'bad value=': missing field value" in error
    assert "line 4: unable to parse 'worse,t= value=3': missing tag value" in error
    assert [row[1] for row in received.rows] == [1.0, 2.0, 4.0]


def test_v2_partial_write_answers_influxdb2s_error_shape(
    client: httpx.Client, received: ReceivedSamples
) -> None:
    response = client.post(
        "/api/v2/write", params={"bucket": "b", "org": "o"}, content=BODY_WITH_BAD_LINES
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body) == {"code", "message"}
    assert "line 2: unable to parse" in body["message"]
    assert [row[1] for row in received.rows] == [1.0, 2.0, 4.0]


def test_samples_the_store_refuses_are_named_by_line_and_the_rest_stored(
    client: httpx.Client, received: ReceivedSamples
) -> None:
    received.refuse = lambda name, labels: (
        "metric 'q' is past its series limit (10,000)" if labels.get("id") == "new" else None
    )
    response = client.post("/api/v2/write", content="q,id=old value=1\nq,id=new value=2\n")
    assert response.status_code == 400
    assert "line 2: metric 'q' is past its series limit (10,000)" in response.json()["message"]
    assert [row[3] for row in received.rows] == [{"id": "old"}]


def test_a_gzip_body_is_accepted(client: httpx.Client, received: ReceivedSamples) -> None:
    response = client.post(
        "/api/v2/write",
        content=gzip.compress(b"m value=7\n"),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
    )
    assert response.status_code == 204
    assert received.rows[0][:2] == ("m", 7.0)


def test_a_gzip_bomb_is_413_in_each_shape(client: httpx.Client, received: ReceivedSamples) -> None:
    bomb = gzip.compress(b"m value=1\n" * 2_000_000)  # 20 MB once inflated
    headers = {"Content-Encoding": "gzip"}
    v1 = client.post("/write", content=bomb, headers=headers)
    v2 = client.post("/api/v2/write", content=bomb, headers=headers)
    assert v1.status_code == 413 and "once decompressed" in v1.json()["error"]
    assert v2.status_code == 413 and v2.json()["code"] == "request too large"
    assert received.rows == []


def test_a_body_over_the_limit_is_413(client: httpx.Client, received: ReceivedSamples) -> None:
    response = client.post("/write", content=b"m value=1\n" * 1_100_000)
    assert response.status_code == 413
    assert received.rows == []


def test_another_content_encoding_is_415(client: httpx.Client) -> None:
    response = client.post("/api/v2/write", content=b"x", headers={"Content-Encoding": "br"})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported media type"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_any_content_type_is_taken_as_influxdb_takes_it(
    client: httpx.Client, received: ReceivedSamples, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert client.post("/write", content="m value=1", headers=headers).status_code == 204


def test_a_body_that_is_not_utf8_is_400(client: httpx.Client) -> None:
    response = client.post("/write", content=b"m,t=\xff value=1")
    assert response.status_code == 400 and "not UTF-8" in response.json()["error"]


def test_an_empty_body_stores_nothing_and_is_204(
    client: httpx.Client, received: ReceivedSamples
) -> None:
    assert client.post("/api/v2/write", content=b"").status_code == 204
    assert received.rows == []
