"""Start and stop `monitorx serve` for a benchmark: a separate process, fresh data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def monitorx_server(
    env: dict[str, str] | None = None, data_dir: Path | None = None
) -> Iterator[tuple[str, Path]]:
    """Yield (base URL, data directory) of a fresh server (on ``data_dir`` when given:
    data written there beforehand); stop it afterwards and delete the directory."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="monitorx-bench-"))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "monitorx", "serve", "--port", str(port), "--data-dir",
         str(data_dir), "--log-level", "warning"],
        env={**os.environ, "MONITORX_AUTH_ENABLED": "false", **(env or {})},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("monitorx serve did not start")
            time.sleep(0.1)
        time.sleep(1.0)  # let the decoder worker finish starting
        yield url, data_dir
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
