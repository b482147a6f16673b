"""Ctrl-C stops `monitorx serve`, `monitorx demo` and scripts/quickstart cleanly.

A terminal sends SIGINT to its whole foreground process group: the server, the
ingest decoder workers it spawned, and in the quickstart the script and the demo
too. Each test starts the command in a process group of its own and signals the
group as the terminal would: the command exits 0, prints no traceback, and leaves
no process of the group behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from monitorx.ingest.pool import POOL_MIN_BYTES
from tests.conftest import LiveServer, free_port
from tests.polling import eventually

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
SERVE = [sys.executable, "-m", "monitorx", "serve"]
pytestmark = pytest.mark.system


def _group_alive(pgid: int) -> list[int]:
    """The processes of group ``pgid`` still running (zombies are gone in all but name)."""
    alive = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return alive


def _as_in_a_terminal() -> None:
    """In the child, before exec: SIGINT as a terminal's foreground job has it. A
    test run started in the background by a non-interactive shell inherits SIGINT
    ignored, and an ignored signal stays ignored across exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C as a terminal sends it; the exit code and everything printed."""
    os.killpg(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    return process.returncode, out


def _big_batch(model_id: str) -> bytes:
    """A batch large enough to be decoded in a worker process."""
    items = [
        {"model_id": model_id, "latency": 10.0 + i % 50, "tags": {"region": "eu", "i": str(i)}}
        for i in range(3_000)
    ]
    body = orjson.dumps(items)
    assert len(body) >= POOL_MIN_BYTES
    return body


def test_ctrl_c_stops_serve_and_its_decoder_workers_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MONITORX_AUTH_ENABLED": "false",
        "MONITORX_INGEST_WORKERS": str(WORKERS),
    }
    server = subprocess.Popen(
        [*SERVE, "--port", str(port), "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        api = f"http://127.0.0.1:{port}/api/v1"
        ready = eventually(lambda: _status(f"{api}/health/ready"), lambda s: s == 200, 60)
        assert ready == 200
        answer = httpx.post(
            f"{api}/metrics/inference/batch",
            content=_big_batch("ctrl-c-v1"),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 202 and answer.json()["accepted"] == 3_000
        # the decoder workers (and multiprocessing's resource tracker) are running
        assert len(psutil.Process(server.pid).children()) > WORKERS

        code, out = _interrupt(server)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert code == 0, out
    assert eventually(lambda: _group_alive(server.pid), lambda left: not left, 10) == []


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.TransportError:
        return 0


def test_ctrl_c_stops_the_demo_cleanly_after_its_summary(live_server: LiveServer) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "monitorx", "demo", "--url", live_server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        seen = _until_sending(demo)
        code, rest = _interrupt(demo)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    out = "".join(seen) + rest
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert rest.startswith("Demo stopped after"), out
    assert code == 0, out


def _until_sending(process: subprocess.Popen[str]) -> list[str]:
    """The lines ``process`` prints until the demo sends traffic."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("Sending about"):
            return seen
    raise AssertionError("".join(seen))


def _quickstart_tree(tmp_path: Path) -> Path:
    """scripts/quickstart as it is, in a tree whose .venv runs this interpreter (the
    test's environment already has what `scripts/bootstrap server` installs)."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "quickstart", root / "scripts" / "quickstart")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for path, text in {
        root / "scripts" / "bootstrap": "#!/bin/sh\nexit 0\n",
        bin_dir / "python": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
        bin_dir / "monitorx": f'#!/bin/sh\nexec "{sys.executable}" -m monitorx "$@"\n',
    }.items():
        path.write_text(text)
        path.chmod(0o755)
    return root


def test_ctrl_c_stops_the_quickstart_its_server_and_its_demo_cleanly(tmp_path: Path) -> None:
    root = _quickstart_tree(tmp_path)
    env = {
        **os.environ,
        "MONITORX_PORT": str(free_port()),
        "MONITORX_DATA_DIR": str(tmp_path / "data"),
        "MONITORX_INGEST_WORKERS": str(WORKERS),
    }
    quickstart = subprocess.Popen(
        [str(root / "scripts" / "quickstart")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        seen = _until_sending(quickstart)
        demo_sent = eventually(
            lambda: _status(f"http://127.0.0.1:{env['MONITORX_PORT']}/api/v1/models/chat-llm"),
            lambda s: s == 200,
        )
        assert demo_sent == 200

        code, rest = _interrupt(quickstart)
    finally:
        if quickstart.poll() is None:
            os.killpg(quickstart.pid, signal.SIGKILL)
    out = "".join(seen) + rest
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert "Demo stopped after" in rest, out
    assert code == 0, out
    assert eventually(lambda: _group_alive(quickstart.pid), lambda left: not left, 10) == []
