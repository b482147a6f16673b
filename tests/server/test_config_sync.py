"""Two replicas on one PostgreSQL schema: configuration changed through one is in
effect on the other within a second or two (LISTEN/NOTIFY), after the other's
listener lost its connection too (it reloads everything when it is back); a
burst of changes is read once; a DuckDB server has nothing of this."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from monitorx.server.config_sync import COALESCE_S, ConfigSync
from monitorx.store.postgres.config_listener import config_channel
from monitorx.store.postgres.connection import parse_postgres_url
from tests.backends import POSTGRES_URL, backend_url
from tests.conftest import TEST_SECRET_KEY, LiveServer, make_settings, run_server
from tests.http_receiver import HttpReceiver, wait_until

ADMIN_KEY = "replica-admin-key"


@pytest.fixture
def pg_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh schema the replicas of a test share, and the secret key they share."""
    monkeypatch.setenv("MONITORX_SECRET_KEYS", TEST_SECRET_KEY)
    with backend_url("postgres", tmp_path) as url:
        yield url


def _replicas(
    stack: ExitStack, tmp_path: Path, url: str, **settings: object
) -> tuple[LiveServer, LiveServer]:
    values: dict[str, object] = {"storage_url": url, "alert_tick_s": 0.05} | settings
    a = stack.enter_context(run_server(make_settings(tmp_path / "a", **values)))
    b = stack.enter_context(run_server(make_settings(tmp_path / "b", **values)))
    return a, b


def _client(stack: ExitStack, server: LiveServer, key: str | None = None) -> httpx.Client:
    headers = {} if key is None else {"X-API-Key": key}
    return stack.enter_context(httpx.Client(base_url=server.api, headers=headers, timeout=10))


def _sync(server: LiveServer) -> ConfigSync:
    sync = server.app.state.config_sync
    assert isinstance(sync, ConfigSync)
    return sync


def _listening(server: LiveServer) -> bool:
    return _sync(server).listening


def _model(api: httpx.Client, model_id: str, latency_ms: float) -> None:
    body = {"model_type": "tabular", "thresholds": {"latency_ms": latency_ms}}
    response = api.put(f"/models/{model_id}", json=body)
    assert response.status_code in (200, 201), response.text


def _latency_threshold(api: httpx.Client, model_id: str) -> float | None:
    response = api.get(f"/models/{model_id}")
    if response.status_code != 200:
        return None
    value: float | None = response.json()["thresholds"].get("latency_ms")
    return value


def _alerts(api: httpx.Client, model_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get("/alerts", params={"model_id": model_id}).json()
    return found


def test_a_threshold_lowered_on_one_replica_alerts_on_the_other_within_a_second(
    tmp_path: Path, pg_url: str
) -> None:
    with ExitStack() as stack:
        a, b = _replicas(stack, tmp_path, pg_url)
        api_a, api_b = _client(stack, a), _client(stack, b)
        wait_until(lambda: _listening(a) and _listening(b))
        _model(api_a, "fraud-v3", 1000.0)
        wait_until(lambda: _latency_threshold(api_b, "fraud-v3") == 1000.0, timeout=2)
        # 500 ms breaches nothing yet, on B.
        metric = {"model_id": "fraud-v3", "latency": 500.0}
        assert api_b.post("/metrics/inference", json=metric).status_code == 202
        time.sleep(0.2)
        assert _alerts(api_b, "fraud-v3") == []

        _model(api_a, "fraud-v3", 100.0)
        changed = time.monotonic()
        while not _alerts(api_b, "fraud-v3") and time.monotonic() - changed < 5:
            assert api_b.post("/metrics/inference", json=metric).status_code == 202
            time.sleep(0.02)
        took_s = time.monotonic() - changed
        (alert,) = _alerts(api_b, "fraud-v3")
        assert alert["alert_type"] == "latency" and alert["threshold"] == 100.0
        assert took_s < 1.0, f"the new threshold took {took_s:.2f} s to apply on B"


def test_a_channel_and_route_made_on_one_replica_notify_from_the_other_until_a_silence_made_there(
    tmp_path: Path, pg_url: str, receiver: HttpReceiver
) -> None:
    with ExitStack() as stack:
        a, b = _replicas(stack, tmp_path, pg_url)
        api_a, api_b = _client(stack, a), _client(stack, b)
        wait_until(lambda: _listening(a) and _listening(b))
        channel = {"id": "ops-hook", "type": "webhook", "config": {"url": receiver.url()}}
        assert api_a.post("/channels", json=channel).status_code == 201
        wait_until(lambda: api_b.get("/channels/ops-hook").status_code == 200, timeout=2)
        route = {
            "id": "all",
            "channels": ["ops-hook"],
            "group_wait": "0s",
            "group_by": ["model_id"],
        }
        assert api_a.post("/routes", json=route).status_code == 201
        wait_until(lambda: api_b.get("/routes/all").status_code == 200, timeout=2)
        for model_id in ("loud-1", "muted-1", "loud-2", "muted-2"):
            _model(api_a, model_id, 100.0)
        wait_until(lambda: _latency_threshold(api_b, "muted-2") == 100.0, timeout=2)

        assert api_b.post("/metrics/inference", json={"model_id": "loud-1", "latency": 150.0})
        first = receiver.wait_for(1)
        assert first[0].json()["alerts"][0]["labels"]["model_id"] == "loud-1"

        silence = {
            "matchers": ['model_id=~"muted-.*"'],
            "duration": "1h",
            "created_by": "ana",
            "comment": "deploying",
        }
        made = api_a.post("/silences", json=silence)
        assert made.status_code == 201, made.text
        silence_id = made.json()["id"]
        wait_until(
            lambda: any(s["id"] == silence_id for s in api_b.get("/silences").json()), timeout=2
        )
        # The muted models breach first; the loud one after them is sent, they are not.
        for model_id in ("muted-1", "muted-2", "loud-2"):
            metric = {"model_id": model_id, "latency": 150.0}
            assert api_b.post("/metrics/inference", json=metric).status_code == 202
        wait_until(lambda: len(_alerts(api_b, "loud-2")) == 1)
        sent = receiver.wait_for(2)
        time.sleep(0.3)  # a few alert ticks more: a muted alert would be sent by now
        models = [r.json()["alerts"][0]["labels"]["model_id"] for r in receiver.requests]
        assert models == ["loud-1", "loud-2"], models
        assert len(_alerts(api_b, "muted-1")) == 1  # raised, kept, not sent
        assert len(sent) == 2


def test_a_key_made_on_one_replica_works_on_the_other_and_stops_there_when_revoked(
    tmp_path: Path, pg_url: str
) -> None:
    with ExitStack() as stack:
        a, b = _replicas(stack, tmp_path, pg_url, auth_enabled=True, api_keys=[ADMIN_KEY])
        admin_a = _client(stack, a, ADMIN_KEY)
        wait_until(lambda: _listening(a) and _listening(b))
        made = admin_a.post("/keys", json={"role": "ingest", "name": "collector"})
        assert made.status_code == 201, made.text
        key, key_id = made.json()["key"], made.json()["id"]
        collector_b = _client(stack, b, key)
        metric = {"model_id": "m", "latency": 3.0}

        def accepted() -> bool:
            return collector_b.post("/metrics/inference", json=metric).status_code == 202

        wait_until(accepted, timeout=2)
        assert admin_a.delete(f"/keys/{key_id}").status_code == 204
        revoked = time.monotonic()
        wait_until(
            lambda: collector_b.post("/metrics/inference", json=metric).status_code == 401,
            timeout=2,
        )
        assert time.monotonic() - revoked < 2.0


# What one replica makes and then deletes, and where the other shows it.
MADE_ELSEWHERE = [
    (
        "/rules",
        "/rules/p95",
        {
            "id": "p95",
            "metric": "latency",
            "aggregation": "p95",
            "window": "1m",
            "op": ">",
            "threshold": 250,
        },
    ),
    (
        "/slos",
        "/slos/fraud-availability",
        {
            "id": "fraud-availability",
            "model_id": "fraud-v3",
            "objective": "availability",
            "target": 0.999,
            "window": "7d",
        },
    ),
    (None, "/threshold-profiles/tabular/prod", {"thresholds": {"latency_ms": 100}}),
    (None, "/routes/ops", {"id": "ops", "channels": ["hook"]}),
    (None, "/channels/hook", {"type": "webhook", "config": {"url": "http://127.0.0.1:9/h"}}),
]


def test_what_one_replica_makes_and_deletes_appears_and_goes_on_the_other(
    tmp_path: Path, pg_url: str
) -> None:
    with ExitStack() as stack:
        a, b = _replicas(stack, tmp_path, pg_url)
        api_a, api_b = _client(stack, a), _client(stack, b)
        wait_until(lambda: _listening(a) and _listening(b))
        # Channels before the routes that name them.
        for collection, item, body in reversed(MADE_ELSEWHERE):
            made = api_a.post(collection, json=body) if collection else api_a.put(item, json=body)
            assert made.status_code == 201, made.text
        for _, item, _ in MADE_ELSEWHERE:
            wait_until(lambda item=item: api_b.get(item).status_code == 200, timeout=2)
        for _, item, _ in MADE_ELSEWHERE:
            assert api_a.delete(item).status_code in (200, 204), item
        for _, item, _ in MADE_ELSEWHERE:
            wait_until(lambda item=item: api_b.get(item).status_code == 404, timeout=2)


def test_a_project_made_on_one_replica_starts_on_the_other(tmp_path: Path, pg_url: str) -> None:
    with ExitStack() as stack:
        a, b = _replicas(stack, tmp_path, pg_url)
        api_a = _client(stack, a)
        wait_until(lambda: _listening(a) and _listening(b))
        assert b.app.state.projects.started("team-b") is None
        body = {"model_type": "tabular", "thresholds": {"latency_ms": 100.0}}
        made = api_a.put("/models/m", json=body, headers={"X-MonitorX-Project": "team-b"})
        assert made.status_code == 201, made.text
        # Its background work (alert timers, notifications) runs there too, from now on.
        wait_until(lambda: b.app.state.projects.started("team-b") is not None, timeout=2)
        assert b.app.state.projects.started("team-b").registry.get("m") is not None


def _terminate_listeners(schema: str) -> int:
    """End the sessions that listen for ``schema``'s configuration changes, as a
    server restart or a failover would; how many there were."""
    channel = config_channel(schema)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'monitorx-config-listener' AND query LIKE %s",
            [f'%LISTEN "{channel}"%'],
        ).fetchall()
    return len(rows)


def _lower_threshold_unheard(schema: str, model_id: str, latency_ms: float) -> None:
    """Change a model's threshold in the store with its triggers off: a change whose
    notification was lost."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(f'SET LOCAL search_path TO "{schema}"')
        (config,) = conn.execute(
            "SELECT config FROM models WHERE model_id = %s", [model_id]
        ).fetchone() or (None,)
        assert config is not None
        data = json.loads(config)
        data["thresholds"]["latency_ms"] = latency_ms
        conn.execute(
            "UPDATE models SET config = %s WHERE model_id = %s", [json.dumps(data), model_id]
        )


def test_a_listener_whose_connection_ends_reconnects_and_reads_everything_again(
    tmp_path: Path, pg_url: str
) -> None:
    schema = parse_postgres_url(pg_url).schema
    with ExitStack() as stack:
        # No periodic full reload within the test: only the reconnection can explain it.
        a, b = _replicas(stack, tmp_path, pg_url, config_reload_s=3600.0)
        api_a, api_b = _client(stack, a), _client(stack, b)
        wait_until(lambda: _listening(a) and _listening(b))
        _model(api_a, "fraud-v3", 1000.0)
        wait_until(lambda: _latency_threshold(api_b, "fraud-v3") == 1000.0, timeout=2)
        # Reloads already under way (the model's write woke them; on a loaded
        # machine they can still be reading) end before the unheard change is made.
        time.sleep(1.0)
        _lower_threshold_unheard(schema, "fraud-v3", 250.0)
        time.sleep(0.3)
        assert _latency_threshold(api_b, "fraud-v3") == 1000.0  # nobody told B

        full_before = _sync(b).full_reloads
        assert _terminate_listeners(schema) == 2
        wait_until(lambda: _latency_threshold(api_b, "fraud-v3") == 250.0, timeout=5)
        wait_until(lambda: _sync(b).full_reloads > full_before)
        wait_until(lambda: _listening(b))
        check = api_b.get("/health").json()["checks"]["config_sync"]
        assert check["status"] == "healthy" and check["listening"] is True
        # And it hears changes as they happen again.
        _model(api_a, "fraud-v3", 50.0)
        wait_until(lambda: _latency_threshold(api_b, "fraud-v3") == 50.0, timeout=2)


def test_a_burst_of_changes_is_read_in_a_few_reloads_not_one_each(
    tmp_path: Path, pg_url: str
) -> None:
    with ExitStack() as stack:
        a, b = _replicas(stack, tmp_path, pg_url, config_reload_s=3600.0)
        api_b = _client(stack, b)
        wait_until(lambda: _listening(a) and _listening(b) and _sync(b).reloads >= 1)
        time.sleep(0.2)
        before = _sync(b).reloads
        schema = parse_postgres_url(pg_url).schema
        # 100 models, each its own transaction and notification, sent without
        # waiting for each answer (a pipeline): a burst of a few milliseconds.
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute("SET synchronous_commit TO off")  # no disk flush per commit
            started = time.monotonic()
            with conn.pipeline() as pipeline:
                for i in range(100):
                    data = {
                        "id": f"bulk-{i}",
                        "name": f"bulk-{i}",
                        "model_type": "tabular",
                        "version": "1",
                        "environment": "prod",
                        "thresholds": {"latency_ms": 100.0},
                        "tags": {},
                    }
                    conn.execute(
                        "INSERT INTO models (project_id, model_id, config, created_at, updated_at) "
                        "VALUES ('default', %s, %s, now(), now())",
                        [data["id"], json.dumps(data)],
                    )
                    pipeline.sync()  # its own transaction
            took_s = time.monotonic() - started
        wait_until(lambda: len(api_b.get("/models").json()) == 100, timeout=2)
        time.sleep(0.3)
        reloads = _sync(b).reloads - before
        # One reload per COALESCE_S (50 ms) of the burst at most, and one after it.
        assert reloads <= 2 + took_s / COALESCE_S, (reloads, took_s)
        assert reloads <= 10, (reloads, took_s)


def test_a_duckdb_server_has_no_configuration_listener(tmp_path: Path) -> None:
    url = f"duckdb:///{(tmp_path / 'store.duckdb').as_posix()}"
    with run_server(make_settings(tmp_path / "data", storage_url=url)) as server:
        assert server.app.state.config_sync is None
        checks = httpx.get(f"{server.api}/health", timeout=10).json()["checks"]
        assert "config_sync" not in checks
