"""A command that finds the embedded store held by another process says, in one
line, which process holds it and what to do, and touches nothing.

The README's tour runs `monitorx serve --data-dir ./data` while, often,
scripts/quickstart still serves the same directory: that must not be a traceback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitorx.cli.main import main
from monitorx.cli.store_in_use import check_store_free
from monitorx.core import StorageError
from monitorx.store import DuckDBStorage
from tests.conftest import TEST_SECRET_KEY, free_port
from tests.system.conftest import ServerProcess, start_server

PG_NOWHERE = "postgresql://nobody@127.0.0.1:1/none"  # nothing listens on port 1
SERVE = [sys.executable, "-m", "monitorx", "serve"]
pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A running `monitorx serve` (as scripts/quickstart runs it) with a model."""
    server = start_server(tmp_path_factory.mktemp("held") / "data")
    body = {"id": "held-v1", "model_type": "tabular", "thresholds": {"latency_ms": 250}}
    assert httpx.post(f"{server.api}/models", json=body).status_code == 201
    yield server
    server.stop()


def _advice_lines(text: str, holder: ServerProcess, command: str) -> list[str]:
    lines = text.splitlines()
    assert len(lines) == 1, text
    line = lines[0]
    assert line.startswith(f"monitorx {command}: {holder.data_dir / 'monitorx.duckdb'} is in use")
    assert f"process {holder.process.pid} (monitorx serve --port" in line
    assert "Stop that process" in line and "scripts/quickstart" in line
    assert "another --data-dir" in line
    return lines


def test_serve_on_a_data_directory_in_use_names_the_holder_in_one_line(
    holder: ServerProcess,
) -> None:
    # The tour's command: auth on (the default), the quickstart's directory.
    env = {k: v for k, v in os.environ.items() if k != "MONITORX_AUTH_ENABLED"}
    done = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--data-dir", str(holder.data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # nothing started, no admin key made
    _advice_lines(done.stderr, holder, "serve")
    assert not (holder.data_dir / "admin-api-key").exists()
    assert httpx.get(f"{holder.api}/models/held-v1").status_code == 200


@pytest.mark.parametrize("command", ["import", "backup", "restore"])
def test_data_commands_on_a_store_in_use_name_the_holder_and_change_nothing(
    command: str,
    holder: ServerProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = {
        "import": str(_csv(tmp_path)),
        "backup": str(tmp_path / "copy.duckdb"),
        "restore": str(_empty_store(tmp_path / "other" / "monitorx.duckdb")),
    }
    code = main([command, arguments[command], "--data-dir", str(holder.data_dir)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    _advice_lines(err, holder, command)
    assert not (tmp_path / "copy.duckdb").exists()
    assert not list(holder.data_dir.glob("*before-restore*"))
    assert httpx.get(f"{holder.api}/models/held-v1").status_code == 200
    stored = httpx.get(f"{holder.api}/metrics/inference", params={"model_id": "old-v1"}).json()
    assert stored == []  # nothing was imported behind the server's back


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    path.write_text("model_id,timestamp,latency\nold-v1,2026-01-01T00:00:00Z,12.5\n")
    return path


def _empty_store(path: Path) -> Path:
    async def make() -> None:
        store = DuckDBStorage(path, hot_max_points=0)
        await store.open()
        await store.close()

    asyncio.run(make())
    return path


_HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
"""


def test_a_holder_that_is_not_monitorx_is_named_too(tmp_path: Path) -> None:
    db = _empty_store(tmp_path / "monitorx.duckdb")
    check_store_free(db)  # free: returns, and leaves nothing locked
    check_store_free(tmp_path / "absent.duckdb")
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as shell:
        assert shell.stdout is not None and shell.stdout.readline() == "held\n"
        with pytest.raises(StorageError) as caught:
            check_store_free(db)
        shell.communicate("")
    message = str(caught.value)
    assert f"is in use by process {shell.pid} (python" in message
    assert "import sys, duckdb" in message
    check_store_free(db)  # the holder is gone: free again


def test_a_store_that_fails_to_open_at_start_up_is_one_message_not_a_traceback(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "MONITORX_AUTH_ENABLED": "false",
        "MONITORX_INGEST_WORKERS": "0",
        "MONITORX_SECRET_KEYS": TEST_SECRET_KEY,  # PostgreSQL storage requires one
    }
    done = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--data-dir", str(tmp_path), "--storage", PG_NOWHERE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "Application startup failed" not in done.stderr
    assert "monitorx serve: PostgreSQL connect failed" in done.stderr, done.stderr
