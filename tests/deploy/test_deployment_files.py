"""The deployment files (Dockerfile, deploy/compose.yaml, deploy/kubernetes/) say
what the server really reads and serves: every ``MONITORX_*`` variable is a setting,
together they make a cluster (``Settings.distributed``), and every probe and health
check asks a path the server answers. No Docker daemon or Kubernetes cluster is
needed: the files are parsed, not run (docs/deployment.md says what was run)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitorx.server.app import API_PREFIX
from monitorx.server.routes import health
from monitorx.server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HEALTH_PATHS = {f"{API_PREFIX}{route.path}" for route in health.router.routes}  # type: ignore[attr-defined]
# Read by uvicorn, not by MonitorX (the client address behind a proxy).
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS"}
_COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}")


def settings_names() -> set[str]:
    return {f"MONITORX_{name.upper()}" for name in Settings.model_fields}


def compose() -> dict[str, Any]:
    text = (DEPLOY / "compose.yaml").read_text()
    # As `docker compose` would with the variables it asks for set, and the
    # others left to their defaults.
    text = _COMPOSE_VARIABLE.sub(
        lambda m: m["arg"] if m["op"] == "-" else f"test-{m['name'].lower()}", text
    )
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def kubernetes() -> dict[str, dict[str, Any]]:
    """Each manifest by kind/name."""
    found = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[f"{document['kind']}/{document.get('metadata', {}).get('name', '')}"] = document
    return found


def cluster_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in [n for n in os.environ if n.startswith("MONITORX_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_every_setting_the_files_name_exists() -> None:
    names = set(compose()["x-monitorx-env"])
    manifests = kubernetes()
    names |= set(manifests["ConfigMap/monitorx"]["data"])
    names |= set(manifests["Secret/monitorx"]["stringData"])
    unknown = names - settings_names() - NOT_SETTINGS
    assert not unknown, f"not settings of the server: {sorted(unknown)}"


def test_compose_runs_three_replicas_of_one_cluster_behind_nginx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    assert set(services) == {"monitorx", "nginx", "postgres", "redis"}
    replica = services["monitorx"]
    assert replica["deploy"]["replicas"] == 3
    assert "ports" not in replica  # reached through nginx only
    assert set(replica["depends_on"]) == {"postgres", "redis"}
    env = {k: str(v) for k, v in replica["environment"].items() if k.startswith("MONITORX_")}
    settings = cluster_settings(env, monkeypatch)
    assert settings.distributed and settings.effective_hot_retention_s == 0
    assert settings.resolved_storage_url().startswith("postgresql://monitorx:")
    assert "@postgres:5432/" in settings.resolved_storage_url()
    assert env["MONITORX_REDIS_URL"].startswith("redis://redis:6379")
    assert settings.secret_keys  # the same on every replica: one place sets it
    assert services["nginx"]["ports"] == ["8000:8000"]


def test_nginx_passes_websocket_upgrades_to_every_replica() -> None:
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert "server monitorx:8000" in conf  # the replicas' port (Dockerfile, MONITORX_PORT)
    assert "proxy_pass http://monitorx;" in conf
    assert "proxy_http_version 1.1;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "listen 8000;" in conf
    compose_file = compose()
    mount = compose_file["services"]["nginx"]["volumes"][0].split(":")[0]
    assert (DEPLOY / mount).resolve() == (DEPLOY / "nginx" / "nginx.conf").resolve()


def test_kubernetes_runs_three_replicas_with_probes_the_server_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manifests = kubernetes()
    deployment = manifests["Deployment/monitorx"]
    assert deployment["spec"]["replicas"] == 3
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    probes = {
        kind: container[kind]["httpGet"]
        for kind in ("readinessProbe", "livenessProbe", "startupProbe")
    }
    assert probes["readinessProbe"]["path"] == f"{API_PREFIX}/health/ready"
    assert probes["livenessProbe"]["path"] == f"{API_PREFIX}/health/live"
    assert {p["path"] for p in probes.values()} <= HEALTH_PATHS
    assert {p["port"] for p in probes.values()} == {"http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
    assert sources == {"monitorx"}
    env = manifests["ConfigMap/monitorx"]["data"] | manifests["Secret/monitorx"]["stringData"]
    settings = cluster_settings(
        {k: v for k, v in env.items() if k.startswith("MONITORX_")}, monkeypatch
    )
    assert settings.distributed and settings.port == 8000 and settings.host == "0.0.0.0"
    # The store and Redis are outside: the URLs name the ExternalName services.
    assert "@monitorx-postgres:5432/" in settings.resolved_storage_url()
    assert manifests["Service/monitorx-postgres"]["spec"]["type"] == "ExternalName"
    assert manifests["Service/monitorx-redis"]["spec"]["type"] == "ExternalName"
    assert manifests["Service/monitorx"]["spec"]["ports"][0]["targetPort"] == "http"
    listed = set(
        yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())["resources"]
    )
    on_disk = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_the_image_runs_the_server_as_a_user_with_a_health_check() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    froms = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert froms and all(image == "python:3.11-slim" for image in froms)
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    user = next(line.split()[1] for line in final if line.startswith("USER "))
    assert user.split(":")[0] not in ("root", "0")
    assert any('"monitorx[server]"' in line for line in final if line.startswith("RUN "))
    assert 'VOLUME ["/data"]' in final and "EXPOSE 8000" in final
    entrypoint = next(line for line in final if line.startswith("ENTRYPOINT "))
    assert entrypoint == 'ENTRYPOINT ["monitorx", "serve", "--host", "0.0.0.0"]'
    check = next(line for line in final if line.startswith("HEALTHCHECK "))
    assert re.search(r"/api/v1/health/ready\b", check)
    assert f"{API_PREFIX}/health/ready" in HEALTH_PATHS
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".git" in ignored and "data" in ignored and "src" not in ignored


def test_the_deployment_page_names_every_setting_the_files_use() -> None:
    page = (ROOT / "docs" / "deployment.md").read_text()
    names = set(compose()["x-monitorx-env"]) | set(kubernetes()["Secret/monitorx"]["stringData"])
    missing = {name for name in names if name not in page}
    assert not missing, sorted(missing)
