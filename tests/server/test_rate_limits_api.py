"""Rate limits kept in the server process: a bucket per key for authenticated
requests, per client address for every other, ``X-RateLimit-*`` on every limited
answer, 429 with ``Retry-After`` past the burst; health never limited."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from monitorx.server.rate_limits import MemoryBuckets, client_address
from tests.conftest import LiveServer, make_settings, run_server

KEY = "rate-limit-test-key-one"
OTHER_KEY = "rate-limit-test-key-two"
BURST = 5


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_admits_its_burst_then_refills_at_its_rate() -> None:
    clock = _Clock()
    buckets = MemoryBuckets(rate=2.0, burst=3, now=clock)
    taken = [await buckets.take("a") for _ in range(4)]
    assert [d.allowed for d in taken] == [True, True, True, False]
    assert [d.remaining for d in taken] == [2, 1, 0, 0]
    assert taken[3].retry_after_s == pytest.approx(0.5)
    assert taken[3].reset_s == pytest.approx(1.5)  # three requests' worth to refill
    assert (await buckets.take("b")).allowed  # each client has its own bucket
    clock.now += 0.5
    assert (await buckets.take("a")).allowed
    clock.now += 10
    full = await buckets.take("a")
    assert (full.remaining, full.reset_s) == (2, pytest.approx(0.5))


async def test_full_buckets_are_forgotten() -> None:
    clock = _Clock()
    buckets = MemoryBuckets(rate=1.0, burst=2, now=clock)
    for n in range(1000):
        await buckets.take(f"client-{n}")
    clock.now += 61  # every bucket is full again and a sweep is due
    await buckets.take("late")
    assert len(buckets) == 1


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same /64: the same bucket
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_ipv6_clients_share_a_bucket_per_64(host: str, bucket: str) -> None:
    assert client_address({"type": "http", "client": (host, 4711)}) == bucket


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path / "data",
        auth_enabled=True,
        api_keys=[KEY, f"{OTHER_KEY}:viewer"],
        rate_limit_per_s=0.5,
        rate_limit_burst=BURST,
    )
    with run_server(settings) as server:
        yield server


def test_past_the_burst_a_key_gets_429_with_retry_after(limited: LiveServer) -> None:
    with httpx.Client(base_url=limited.api, headers={"X-API-Key": KEY}) as client:
        answers = [client.get("/models") for _ in range(BURST + 1)]
        refused = client.post("/metrics/inference", json={"model_id": "m", "latency": 1})
    assert [a.status_code for a in answers] == [200] * BURST + [429]
    assert refused.status_code == 429  # the fast ingest path is behind the limiter too
    assert int(refused.headers["Retry-After"]) == 2  # one request at 0.5/s
    assert refused.json()["error"] == "rate_limited"
    with httpx.Client(base_url=limited.api, headers={"X-API-Key": OTHER_KEY}) as other:
        assert other.get("/models").status_code == 200  # another key, another bucket
        assert all(other.get("/health").status_code == 200 for _ in range(3 * BURST))


def test_every_limited_answer_says_what_is_left(limited: LiveServer) -> None:
    with httpx.Client(base_url=limited.api, headers={"X-API-Key": KEY}) as client:
        started = time.time()
        answers = [client.get("/models") for _ in range(BURST + 1)]
        health = client.get("/health/live")
    assert [a.headers["X-RateLimit-Limit"] for a in answers] == [str(BURST)] * (BURST + 1)
    remaining = [int(a.headers["X-RateLimit-Remaining"]) for a in answers]
    assert remaining == [4, 3, 2, 1, 0, 0]
    # Reset: Unix seconds when the bucket is full again (BURST requests at 0.5/s).
    reset = int(answers[-1].headers["X-RateLimit-Reset"])
    assert started + BURST / 0.5 - 1 <= reset <= math.ceil(time.time() + BURST / 0.5)
    assert "Retry-After" not in answers[0].headers
    assert "Retry-After" in answers[-1].headers
    assert "X-RateLimit-Limit" not in health.headers  # health is not limited


def test_rotating_invented_keys_is_limited_by_address(limited: LiveServer) -> None:
    """A client that sends a new made-up key each time is one anonymous client."""
    statuses = [
        httpx.get(f"{limited.api}/models", headers={"X-API-Key": f"invented-{n}"}).status_code
        for n in range(BURST + 3)
    ]
    assert statuses == [401] * BURST + [429] * 3
    no_credential = httpx.get(f"{limited.api}/models")
    assert no_credential.status_code == 429  # the same address, the same bucket
    assert int(no_credential.headers["X-RateLimit-Remaining"]) == 0
    # A valid key from that address has a bucket of its own, untouched by them.
    valid = httpx.get(f"{limited.api}/models", headers={"X-API-Key": KEY})
    assert valid.status_code == 200
    assert valid.headers["X-RateLimit-Remaining"] == str(BURST - 1)


def test_bearer_and_token_forms_of_a_key_share_its_bucket(limited: LiveServer) -> None:
    forms = [
        {"X-API-Key": KEY},
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": f"Token {KEY}"},
    ]
    remaining = [
        httpx.get(f"{limited.api}/models", headers=forms[n % 3]).headers["X-RateLimit-Remaining"]
        for n in range(BURST)
    ]
    assert remaining == ["4", "3", "2", "1", "0"]


def test_websocket_connections_take_from_the_same_bucket(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", rate_limit_per_s=0.5, rate_limit_burst=2)
    with run_server(settings) as server:
        live = server.url.replace("http://", "ws://") + "/api/v1/ws"
        with connect(live):  # auth is off: accepted at once
            pass
        assert httpx.get(f"{server.api}/models").status_code == 200
        with pytest.raises(InvalidStatus) as refused:
            connect(live)
    assert refused.value.response.status_code == 403


def test_with_auth_off_every_request_counts_against_its_address(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", rate_limit_per_s=0.5, rate_limit_burst=3)
    with run_server(settings) as server:
        statuses = [
            httpx.get(f"{server.api}/models", headers={"X-API-Key": f"k{n}"}).status_code
            for n in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


def test_a_request_is_authenticated_once(limited: LiveServer) -> None:
    """The limiter finds the caller; the fast ingest path and the routes' own
    checks read its answer instead of checking the key again."""
    auth = limited.services.auth
    calls: list[object] = []
    check = auth.authenticate_headers

    def counted(headers: object) -> object:
        calls.append(headers)
        return check(headers)  # type: ignore[arg-type]

    auth.authenticate_headers = counted  # type: ignore[method-assign,assignment]
    try:
        with httpx.Client(base_url=limited.api, headers={"X-API-Key": KEY}) as client:
            assert client.get("/models").status_code == 200
            assert len(calls) == 1
            metric = {"model_id": "m", "latency": 1.0}
            assert client.post("/metrics/inference", json=metric).status_code == 202
            assert len(calls) == 2
            assert client.get("/models", headers={"X-API-Key": "wrong"}).status_code == 401
            assert len(calls) == 3
    finally:
        del auth.authenticate_headers


def test_health_says_limits_are_kept_in_memory(limited: LiveServer) -> None:
    check = httpx.get(f"{limited.api}/health").json()["checks"]["rate_limits"]
    assert check["status"] == "healthy"
    assert check["backend"] == "memory"


def test_without_a_rate_nothing_is_limited_or_announced(tmp_path: Path) -> None:
    with run_server(make_settings(tmp_path / "data")) as server:
        answer = httpx.get(f"{server.api}/models")
        check = httpx.get(f"{server.api}/health").json()["checks"]["rate_limits"]
    assert "X-RateLimit-Limit" not in answer.headers
    assert check == {"status": "healthy", "enabled": False}


def test_the_schema_says_what_a_429_carries(limited: LiveServer) -> None:
    schema = httpx.get(f"{limited.url}/openapi.json").json()
    refused = schema["paths"]["/api/v1/metrics/inference"]["post"]["responses"]["429"]
    assert set(refused["headers"]) == {
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }
    assert "429" not in schema["paths"]["/api/v1/health"]["get"]["responses"]
