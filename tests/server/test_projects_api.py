"""Projects per request (API.md "Projects, keys and users"): one server, two projects
whose keys were created before it started; everything stored is in one project,
another project's resource is 404 and never listed, the same ids live in both.

Runs on the backend ``MONITORX_TEST_BACKEND`` names (duckdb, postgres, influx).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from monitorx.core import SystemClock
from monitorx.core.access import Role
from monitorx.server.keys import KeyRing
from monitorx.server.settings import Settings
from monitorx.store import open_storage
from tests.conftest import LiveServer, free_port, make_settings, run_server
from tests.http_receiver import HttpReceiver, wait_until

PROJECTS = ("alpha", "beta")


def _create_key(settings: Settings, project: str) -> str:
    """An admin key of ``project``, stored before the server starts (as `monitorx
    keys create --project` does)."""

    async def create() -> str:
        store = open_storage(
            settings.resolved_storage_url(), project, data_dir=settings.data_dir, hot_max_points=0
        )
        await store.open()
        try:
            _, key = await KeyRing(store, SystemClock(), project).create(Role.ADMIN, "test")
        finally:
            await store.close()
        return key

    return asyncio.run(create())


class Projects:
    """A server with auth on and a client per project."""

    def __init__(self, server: LiveServer, keys: dict[str, str]) -> None:
        self.server = server
        self.keys = keys
        self.clients = {
            p: httpx.Client(base_url=server.api, timeout=30, headers={"X-API-Key": k})
            for p, k in keys.items()
        }

    def __getitem__(self, project: str) -> httpx.Client:
        return self.clients[project]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def projects(tmp_path: Path) -> Iterator[Projects]:
    settings = make_settings(
        tmp_path / "data", auth_enabled=True, alert_tick_s=0.02, rule_eval_interval_s=0.05
    )
    keys = {p: _create_key(settings, p) for p in PROJECTS}
    with run_server(settings) as server:
        both = Projects(server, keys)
        try:
            yield both
        finally:
            both.close()


def _ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _model(client: httpx.Client, model_id: str, latency_ms: float) -> None:
    body = {"model_type": "tabular", "thresholds": {"latency_ms": latency_ms}}
    assert client.put(f"/models/{model_id}", json=body).status_code in (200, 201)


def _metrics(client: httpx.Client, model_id: str, *latencies: float) -> None:
    batch = [{"model_id": model_id, "latency": v} for v in latencies]
    assert _ok(client.post("/metrics/inference/batch", json=batch), 202)["accepted"] == len(batch)


def _stored_in_alpha(alpha: httpx.Client) -> dict[str, str]:
    """One of every kind of resource, in project alpha; their ids."""
    _model(alpha, "only-alpha", 100.0)
    hook = {"id": "hook", "type": "webhook", "config": {"url": "http://127.0.0.1:9/x"}}
    _ok(alpha.post("/channels", json=hook), 201)
    _ok(alpha.post("/routes", json={"id": "everything", "channels": ["hook"]}), 201)
    silence = _ok(
        alpha.post(
            "/silences",
            json={
                "matchers": {"model_id": "only-alpha"},
                "duration": "1h",
                "created_by": "t",
                "comment": "c",
            },
        ),
        201,
    )
    rule = {
        "id": "p95",
        "metric": "latency",
        "aggregation": "p95",
        "window": "1m",
        "op": ">",
        "threshold": 250,
    }
    _ok(alpha.post("/rules", json=rule), 201)
    panel = {"metric": "latency", "agg": "p95", "models": ["only-alpha"]}
    _ok(alpha.post("/dashboards", json={"id": "ops", "title": "Ops", "panels": [panel]}), 201)
    sample = {"name": "alpha_queue_depth", "value": 3.0, "labels": {"region": "eu"}}
    _ok(alpha.post("/metrics/custom", json=[sample]), 202)
    drift = {"model_id": "only-alpha", "drift_type": "feature", "confidence": 0.4, "feature": "f"}
    _ok(alpha.post("/metrics/drift", json=drift), 202)
    rows = [{"amount": float(i), "country": "fr"} for i in range(50)]
    _ok(alpha.put("/models/only-alpha/reference", json={"rows": rows}), 200)
    records = [{"request_id": f"r{i}", "features": {"amount": float(i)}} for i in range(10)]
    _ok(alpha.post("/models/only-alpha/records", json=records), 202)
    _metrics(alpha, "only-alpha", 300.0)  # past its threshold: an alert

    def firing() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = alpha.get("/alerts", params={"model_id": "only-alpha"}).json()
        return found

    alert = wait_until(lambda: bool(firing()), result=firing)
    return {"silence": silence["id"], "alert": alert[0]["id"]}


def test_another_projects_resources_are_404_and_never_listed(projects: Projects) -> None:
    alpha, beta = projects["alpha"], projects["beta"]
    ids = _stored_in_alpha(alpha)

    for path in (
        "/models/only-alpha",
        "/channels/hook",
        "/routes/everything",
        f"/silences/{ids['silence']}",
        "/rules/p95",
        "/dashboards/ops",
        f"/alerts/{ids['alert']}",
        "/models/only-alpha/reference",
    ):
        assert alpha.get(path).status_code == 200, path
        assert beta.get(path).status_code == 404, path
    for path in (
        "/models",
        "/channels",
        "/routes",
        "/silences",
        "/rules",
        "/dashboards",
        "/alerts",
    ):
        assert alpha.get(path).json(), path
        assert beta.get(path).json() == [], path
    names = {m["name"] for m in beta.get("/metrics/names").json()}
    assert "alpha_queue_depth" not in names
    assert "alpha_queue_depth" in {m["name"] for m in alpha.get("/metrics/names").json()}
    assert beta.get("/metrics/drift", params={"model_id": "only-alpha"}).json() == []
    assert len(alpha.get("/metrics/drift", params={"model_id": "only-alpha"}).json()) == 1
    assert beta.get("/metrics/inference", params={"model_id": "only-alpha"}).json() == []
    assert [m["model_id"] for m in beta.get("/summary").json()["models"]] == []
    # Changes from another project reach nothing either.
    assert beta.delete("/models/only-alpha").status_code == 404
    assert beta.delete("/channels/hook").status_code == 404
    assert beta.post(f"/alerts/{ids['alert']}/acknowledge").status_code == 404
    assert alpha.get(f"/alerts/{ids['alert']}").json()["status"] == "firing"


def test_keys_belong_to_their_project(projects: Projects) -> None:
    alpha, beta = projects["alpha"], projects["beta"]
    created = _ok(alpha.post("/keys", json={"role": "viewer", "name": "reader"}), 201)
    assert created["project"] == "alpha"
    assert {k["project"] for k in alpha.get("/keys").json()} == {"alpha"}
    assert created["id"] not in {k["id"] for k in beta.get("/keys").json()}
    assert beta.delete(f"/keys/{created['id']}").status_code == 404
    # The new key works, in its own project: it reads alpha's models, not beta's.
    _model(beta, "only-beta", 100.0)
    reader = httpx.Client(base_url=projects.server.api, headers={"X-API-Key": created["key"]})
    with reader:
        assert reader.get("/models/only-beta").status_code == 404
        assert reader.get("/keys").status_code == 403  # a viewer, of alpha
    # Each project's audit log holds its own changes alone.
    actions = {e["action"] for e in beta.get("/audit").json()}
    assert "create_key" not in actions
    assert "create_key" in {e["action"] for e in alpha.get("/audit").json()}


def test_the_same_model_id_holds_each_projects_own_data(projects: Projects) -> None:
    alpha, beta = projects["alpha"], projects["beta"]
    _model(alpha, "shared", 1000.0)
    _model(beta, "shared", 2000.0)
    _metrics(alpha, "shared", 10.0, 10.0, 10.0)
    _metrics(beta, "shared", 20.0)

    assert alpha.get("/models/shared").json()["thresholds"]["latency_ms"] == 1000.0
    assert beta.get("/models/shared").json()["thresholds"]["latency_ms"] == 2000.0
    seen_alpha = alpha.get("/metrics/inference", params={"model_id": "shared"}).json()
    seen_beta = beta.get("/metrics/inference", params={"model_id": "shared"}).json()
    assert [m["latency"] for m in seen_alpha] == [10.0, 10.0, 10.0]
    assert [m["latency"] for m in seen_beta] == [20.0]
    assert alpha.get("/models/shared/summary").json()["count"] == 3
    assert beta.get("/models/shared/summary").json()["count"] == 1
    # Deleting it in one project leaves the other's.
    assert beta.delete("/models/shared", params={"purge": "true"}).status_code == 204
    assert alpha.get("/models/shared").status_code == 200
    assert len(alpha.get("/metrics/inference", params={"model_id": "shared"}).json()) == 3


def _ws(server: LiveServer, key: str) -> ClientConnection:
    url = server.url.replace("http://", "ws://") + "/api/v1/ws"
    return connect(url, additional_headers={"X-API-Key": key})


def _next_metrics(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message["type"] == "metrics":
            return message


def test_the_live_feed_carries_the_callers_project_alone(projects: Projects) -> None:
    alpha, beta = projects["alpha"], projects["beta"]
    with (
        _ws(projects.server, projects.keys["alpha"]) as feed_alpha,
        _ws(projects.server, projects.keys["beta"]) as feed_beta,
    ):
        for feed in (feed_alpha, feed_beta):
            assert json.loads(feed.recv(timeout=10))["type"] == "subscribed"
        _metrics(beta, "from-beta", 5.0)
        _metrics(alpha, "from-alpha", 7.0)
        # Each socket's first metrics are its own project's: beta's came first and
        # never reached alpha's socket.
        assert _next_metrics(feed_alpha)["model_id"] == "from-alpha"
        assert _next_metrics(feed_beta)["model_id"] == "from-beta"


def test_a_notification_goes_out_for_the_project_whose_alert_fired(
    projects: Projects, receiver: HttpReceiver
) -> None:
    for project in PROJECTS:
        client = projects[project]
        channel = {"id": "hook", "type": "webhook", "config": {"url": receiver.url(f"/{project}")}}
        _ok(client.post("/channels", json=channel), 201)
        route = {"id": "all", "channels": ["hook"], "group_wait": "0s"}
        _ok(client.post("/routes", json=route), 201)
        _model(client, "m", 100.0)
    _metrics(projects["alpha"], "m", 300.0)

    (sent,) = receiver.wait_for(1, timeout=10)
    assert sent.path == "/alpha"
    assert sent.json()["alerts"][0]["labels"]["model_id"] == "m"
    time.sleep(0.3)  # a wrong notification to beta's receiver would have come by now
    assert [r.path for r in receiver.requests] == ["/alpha"]
    assert projects["beta"].get("/alerts").json() == []


def test_with_auth_off_the_header_names_the_project(live_server: LiveServer) -> None:
    def client(project: str | None) -> httpx.Client:
        headers = {} if project is None else {"X-MonitorX-Project": project}
        return httpx.Client(base_url=live_server.api, timeout=30, headers=headers)

    with client(None) as default, client("team-b") as team_b, client("bad project!") as bad:
        _model(team_b, "m", 100.0)
        _metrics(team_b, "m", 1.0, 2.0)
        assert default.get("/models/m").status_code == 404
        assert default.get("/metrics/inference", params={"model_id": "m"}).json() == []
        assert [m["id"] for m in team_b.get("/models").json()] == ["m"]
        assert len(team_b.get("/metrics/inference", params={"model_id": "m"}).json()) == 2
        _model(default, "m", 500.0)
        assert default.get("/models/m").json()["thresholds"]["latency_ms"] == 500.0
        assert team_b.get("/models/m").json()["thresholds"]["latency_ms"] == 100.0

        for response in (
            bad.get("/models"),
            bad.post("/metrics/inference", json={"model_id": "m", "latency": 1.0}),
        ):
            assert response.status_code == 400, response.text
            assert response.json()["errors"][0]["field"] == "X-MonitorX-Project"


def test_with_auth_on_the_header_cannot_reach_another_project(projects: Projects) -> None:
    alpha, beta = projects["alpha"], projects["beta"]
    _model(beta, "only-beta", 100.0)
    response = alpha.get("/models/only-beta", headers={"X-MonitorX-Project": "beta"})
    assert response.status_code == 404
    assert beta.get("/models/only-beta").status_code == 200


def test_a_project_with_stored_data_is_served_again_from_the_start(tmp_path: Path) -> None:
    """After a restart its background work (alert timers, notifications) runs
    before its first request: the server builds it at start-up."""
    settings = make_settings(tmp_path / "data")
    with run_server(settings) as server:
        headers = {"X-MonitorX-Project": "team-b"}
        with httpx.Client(base_url=server.api, timeout=30, headers=headers) as team_b:
            _model(team_b, "m", 100.0)
    with run_server(settings) as server:
        assert server.app.state.projects.projects() == ["default", "team-b"]


def test_otlp_grpc_writes_into_the_project_of_the_call(tmp_path: Path) -> None:
    import grpc
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import (
        MetricsServiceStub,
    )

    from tests.server.test_otlp_grpc import _gauges

    settings = make_settings(tmp_path / "data", otlp_grpc_port=free_port())
    with (
        run_server(settings) as server,
        grpc.insecure_channel(f"127.0.0.1:{settings.otlp_grpc_port}") as channel,
    ):
        stub = MetricsServiceStub(channel)
        stub.Export(_gauges([3.0]), metadata=[("x-monitorx-project", "team-b")], timeout=10)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(_gauges([3.0]), metadata=[("x-monitorx-project", "a b")], timeout=10)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT

        def names(project: str) -> set[str]:
            with httpx.Client(base_url=server.api, headers={"X-MonitorX-Project": project}) as c:
                return {m["name"] for m in c.get("/metrics/names").json()}

        assert "queue.depth" in names("team-b")
        assert "queue.depth" not in names("default")


def test_users_log_in_to_their_own_project(projects: Projects) -> None:
    """The same username in two projects: the login names its project with the
    ``X-MonitorX-Project`` header, the token acts there alone, and a header naming a
    project nobody started is no way in."""
    for project, password in (("alpha", "alpha-password"), ("beta", "beta-password")):
        made = projects[project].post(
            "/users", json={"username": "sam", "password": password, "role": "editor"}
        )
        assert made.status_code == 201, made.text
        stored = projects[project].put(
            "/models/shared-id", json={"model_type": "llm", "version": project}
        )
        assert stored.status_code == 201, stored.text
    login = f"{projects.server.api}/auth/token"
    for project, password in (("alpha", "alpha-password"), ("beta", "beta-password")):
        answer = httpx.post(
            login,
            json={"username": "sam", "password": password},
            headers={"X-MonitorX-Project": project},
        )
        assert answer.status_code == 200, answer.text
        bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        me = httpx.get(f"{projects.server.api}/auth/me", headers=bearer).json()
        assert me["project"] == project
        found = httpx.get(f"{projects.server.api}/models/shared-id", headers=bearer)
        assert found.status_code == 200, found.text
        model = found.json()
        assert model["version"] == project
        # A password is good in its own project only.
        other = "beta" if project == "alpha" else "alpha"
        wrong = httpx.post(
            login,
            json={"username": "sam", "password": password},
            headers={"X-MonitorX-Project": other},
        )
        assert wrong.status_code == 401
    unknown = httpx.post(
        login,
        json={"username": "sam", "password": "alpha-password"},
        headers={"X-MonitorX-Project": "never-started"},
    )
    assert unknown.status_code == 401  # the server's own project has no sam


def test_each_project_masks_as_its_settings_say(tmp_path: Path) -> None:
    """``pii_projects``: the research project stores values as sent, the others mask."""
    settings = make_settings(
        tmp_path / "data", auth_enabled=False, pii_projects={"research": {"detectors": []}}
    )
    tags = {"user": "jane@example.com", "plan": "pro"}
    with run_server(settings) as server, httpx.Client(base_url=server.api) as api:
        for project in ("default", "research"):
            sent = api.post(
                "/metrics/inference",
                json={"model_id": "bot", "latency": 12, "tags": tags},
                headers={"X-MonitorX-Project": project},
            )
            assert sent.status_code in (201, 202), sent.text

        def stored(project: str) -> dict[str, str]:
            def found() -> list[dict[str, Any]]:
                answer = api.get(
                    "/metrics/inference",
                    params={"model_id": "bot"},
                    headers={"X-MonitorX-Project": project},
                )
                return list(answer.json())

            wait_until(lambda: len(found()) == 1)
            return dict(found()[0]["tags"])

        assert stored("research") == tags
        masked = stored("default")
        assert masked["user"].startswith("<email:") and masked["plan"] == "pro"
