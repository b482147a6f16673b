"""Two `monitorx serve` processes behind one address, as replicas behind a load
balancer, share their rate limits through the real Redis: a key, or an address
rotating invented keys, gets one burst across both, not one from each."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.redis_peer import shared_redis
from tests.system.conftest import ServerProcess, start_server

pytestmark = pytest.mark.system

KEY = "replica-shared-key"
BURST = 8


# One pair for the module: its tests use different buckets (a key's, an address').
@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    tmp_path = tmp_path_factory.mktemp("replicas")
    with shared_redis() as (url, prefix):
        env = {
            "MONITORX_AUTH_ENABLED": "true",
            "MONITORX_API_KEYS": json.dumps([KEY]),
            "MONITORX_RATE_LIMIT_PER_S": "0.1",  # nothing refills while the test runs
            "MONITORX_RATE_LIMIT_BURST": str(BURST),
            "MONITORX_REDIS_URL": url,
            "MONITORX_REDIS_PREFIX": prefix,
            "MONITORX_INGEST_WORKERS": "0",  # nothing here decodes a large batch
        }
        servers = [start_server(tmp_path / name, env) for name in ("one", "two")]
        try:
            yield servers
        finally:
            for server in servers:
                server.stop()


def test_a_key_gets_one_burst_across_both_replicas(replicas: list[ServerProcess]) -> None:
    answers = [
        httpx.get(f"{replicas[n % 2].api}/models", headers={"X-API-Key": KEY})
        for n in range(BURST + 2)
    ]
    assert [a.status_code for a in answers] == [200] * BURST + [429, 429]
    remaining = [int(a.headers["X-RateLimit-Remaining"]) for a in answers]
    assert remaining == [*range(BURST - 1, -1, -1), 0, 0]
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[BURST:])


def test_rotating_invented_keys_gets_one_burst_across_both_replicas(
    replicas: list[ServerProcess],
) -> None:
    statuses = [
        httpx.get(
            f"{replicas[n % 2].api}/models", headers={"X-API-Key": f"made-up-{n}"}
        ).status_code
        for n in range(BURST + 4)
    ]
    assert statuses == [401] * BURST + [429] * 4
    for server in replicas:
        health = httpx.get(f"{server.api}/health").json()
        assert health["checks"]["rate_limits"]["backend"] == "redis"
        assert health["checks"]["rate_limits"]["status"] == "healthy"
