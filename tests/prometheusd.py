"""A real Prometheus server for tests, started from Debian's ``prometheus`` binary.

`start_prometheus(config, directory)` writes ``config`` (a ``prometheus.yml`` as a
dict) under ``directory``, runs one ``prometheus`` with its TSDB there, listening
on a free loopback port, and returns once ``/-/ready`` answers 200. Never the
system service: ``scripts/ensure-prometheus`` installs the binary and leaves the
service stopped. `query` reads Prometheus' HTTP query API.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import free_port

__all__ = ["PrometheusProcess", "prometheus_binary", "start_prometheus"]

START_TIMEOUT_S = 30.0


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )


@dataclass
class PrometheusProcess:
    """A running ``prometheus``: its base URL and process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector; AssertionError (with Prometheus' error
        and log) when Prometheus refuses the query."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (
            f"{promql}: {response.status_code} {body.get('error')}"
        )
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        """The value of a query that selects one series, None while it selects none."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql} selects {len(result)} series"
        return float(result[0]["value"][1]) if result else None


def start_prometheus(config: dict[str, Any], directory: Path) -> PrometheusProcess:
    binary = prometheus_binary()
    if binary is None:
        raise FileNotFoundError("prometheus is not installed (scripts/ensure-prometheus)")
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    log_path = directory / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={directory / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = PrometheusProcess(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}: {server.log()}")
        try:
            if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"prometheus was not ready in {START_TIMEOUT_S:.0f} s: {server.log()}")
