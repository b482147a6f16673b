"""Fixtures for tests that run `monitorx serve` as a separate process."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, as in a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    extra_args: Sequence[str] = (),
    tls: ssl.SSLContext | None = None,
    ready_timeout_s: float = 30.0,
) -> ServerProcess:
    """`monitorx serve` on a free port, its stdout and stderr in ``<data_dir>/server.log``;
    ``extra_args`` go after the defaults (``--log-level debug`` overrides ``warning``).
    With ``tls`` (a client context that trusts the server's certificate, which
    ``extra_args`` name) the server is reached over HTTPS.

    Ready means this process listens on the port and answers ``/health/ready``: a
    port another test run took between `free_port` and the bind is tried again."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        server = _launch(data_dir, extra_env, extra_args, tls, ready_timeout_s)
        if server is not None:
            return server
    raise RuntimeError("monitorx serve found no free port in 3 tries")


def _launch(
    data_dir: Path,
    extra_env: dict[str, str] | None,
    extra_args: Sequence[str],
    tls: ssl.SSLContext | None,
    ready_timeout_s: float = 30.0,
) -> ServerProcess | None:
    port = free_port()
    log = (data_dir / "server.log").open("ab")
    env = {**os.environ, "MONITORX_AUTH_ENABLED": "false", **(extra_env or {})}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitorx",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "warning",
            *extra_args,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the child keeps its own descriptor
    scheme = "https" if tls else "http"
    server = ServerProcess(process, f"{scheme}://127.0.0.1:{port}", data_dir)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = (data_dir / "server.log").read_text()[-2000:]
            if "address already in use" in err.lower():
                return None
            raise RuntimeError(f"monitorx serve exited with {process.returncode}: {err}")
        try:
            ready = (
                httpx.get(f"{server.api}/health/ready", timeout=1, verify=tls or True).status_code
                == 200
            )
        except httpx.TransportError:
            ready = False
        if ready and _listens(process.pid, port):
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"monitorx serve did not become ready in {ready_timeout_s:g} s")


def _listens(pid: int, port: int) -> bool:
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


@pytest.fixture
def server_process_factory(tmp_path: Path) -> Iterator[object]:
    started: list[ServerProcess] = []

    def factory(data_dir: Path | None = None) -> ServerProcess:
        server = start_server(data_dir or tmp_path / "data")
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
