"""Fixtures for tests that run `monitorx serve` as a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
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
    data_dir: Path, extra_env: dict[str, str] | None = None, extra_args: Sequence[str] = ()
) -> ServerProcess:
    """`monitorx serve` on a free port, its stdout and stderr in ``<data_dir>/server.log``;
    ``extra_args`` go after the defaults (``--log-level debug`` overrides ``warning``)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
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
    server = ServerProcess(process, f"http://127.0.0.1:{port}", data_dir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            err = (data_dir / "server.log").read_text()[-2000:]
            raise RuntimeError(f"monitorx serve exited with {process.returncode}: {err}")
        try:
            if httpx.get(f"{server.api}/health/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("monitorx serve did not become ready in 30 s")


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
