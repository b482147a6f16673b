"""A real InfluxDB 1.x server for tests and benchmarks, started from ``influxd``.

`start_influxd(data_dir)` runs one ``influxd`` with its meta, data and WAL under
``data_dir``, listening on free loopback ports only, and returns once ``GET /ping``
answers 204. `influxd_url()` is the one server a pytest session shares (tests keep
apart by database, see tests/backends.py); ``MONITORX_TEST_INFLUX_URL`` points it at
a server started elsewhere instead. ``scripts/ensure-influxdb`` installs the binary.

The config turns off everything a test does not need and that would otherwise cost
time or write outside ``data_dir``: usage reporting, the ``_internal`` monitor
database, continuous queries, the HTTP access log. ``wal-fsync-delay = "0s"`` keeps
the production behaviour that a 204 follows an fsync of the WAL.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["InfluxProcess", "influxd_url", "start_influxd"]

START_TIMEOUT_S = 30.0
_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"
  logging-enabled = false

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
"""


@dataclass
class InfluxProcess:
    """A running ``influxd``: its base URL (``http://127.0.0.1:port``) and process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def influxd_binary() -> str | None:
    """The path of ``influxd``, or None when it is not installed."""
    return shutil.which("influxd") or (
        "/usr/bin/influxd" if os.access("/usr/bin/influxd", os.X_OK) else None
    )


def start_influxd(data_dir: Path) -> InfluxProcess:
    """Start ``influxd`` on free loopback ports with its files under ``data_dir``.

    Raises `FileNotFoundError` when ``influxd`` is not installed and `RuntimeError`
    (with the end of its log) when it does not answer ``/ping`` in time.
    """
    binary = influxd_binary()
    if binary is None:
        raise FileNotFoundError("influxd is not installed (scripts/ensure-influxdb installs it)")
    data_dir.mkdir(parents=True, exist_ok=True)
    http_port, rpc_port = _free_port(), _free_port()
    while rpc_port == http_port:
        rpc_port = _free_port()
    config = data_dir / "influxdb.conf"
    config.write_text(
        _CONFIG.format(dir=data_dir.as_posix(), http_port=http_port, rpc_port=rpc_port)
    )
    log_path = data_dir / "influxd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "run", "-config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group: a Ctrl-C in the terminal reaches pytest, which
            # then stops the server in order, instead of both at once.
            start_new_session=True,
        )
    server = InfluxProcess(f"http://127.0.0.1:{http_port}", process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"influxd exited with {process.returncode}: {_tail(log_path)}")
        try:
            if httpx.get(f"{server.url}/ping", timeout=1).status_code == 204:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"influxd did not answer /ping in time: {_tail(log_path)}")
        time.sleep(0.05)


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


_shared_url: str | None = None


def influxd_url() -> str:
    """The base URL of the InfluxDB this test session shares, started on first use.

    ``MONITORX_TEST_INFLUX_URL`` names a running server to use instead. Without it,
    an ``influxd`` is started in a temporary directory and stopped (and its files
    removed) when the interpreter exits. When ``influxd`` is not installed the
    calling test is skipped locally and fails under ``CI=true``.
    """
    global _shared_url
    if _shared_url is not None:
        return _shared_url
    configured = os.environ.get("MONITORX_TEST_INFLUX_URL")
    if configured:
        _shared_url = configured.rstrip("/")
        return _shared_url
    if influxd_binary() is None:
        from tests.backends import unavailable

        unavailable("influxd")
    directory = Path(tempfile.mkdtemp(prefix="monitorx-influxd-"))
    try:
        server = start_influxd(directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise

    def stop() -> None:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(stop)
    _shared_url = server.url
    return _shared_url
