"""`pip install monitorx` (the SDK alone, no `server` extra): the command still
answers `--help`, and each command that needs the server's dependencies says in
one line which extra to install.

A fresh virtual environment (no system site-packages) gets this repository,
without its dependencies, and the SDK's own two (httpx, sniffio), as the bare
install would have them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTRA = 'pip install "monitorx[server]"'
pytestmark = pytest.mark.system


@pytest.fixture(scope="session")
def light_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("light-install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    pip += ["--quiet", "--disable-pip-version-check"]
    for packages in (["httpx", "sniffio"], ["--no-deps", "-e", str(ROOT)]):
        done = subprocess.run([*pip, *packages], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return venv


def _run(venv: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}:/usr/bin:/bin"
    return subprocess.run(list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_the_light_install_has_the_sdk_and_not_the_server(light_venv: Path) -> None:
    done = _run(light_venv, "python", "-c", "import monitorx, pydantic")
    assert "No module named 'pydantic'" in done.stderr
    assert _run(light_venv, "python", "-c", "import monitorx; monitorx.MonitorX").returncode == 0


def test_help_lists_the_commands(light_venv: Path) -> None:
    done = _run(light_venv, "monitorx", "--help")
    assert done.returncode == 0, done.stderr
    for command in ("serve", "demo", "import", "backup", "restore"):
        assert command in done.stdout
    assert _run(light_venv, "monitorx", "serve", "--help").returncode == 0


@pytest.mark.parametrize(
    "args",
    [["serve"], ["demo", "--duration", "1"], ["import", "history.csv"], ["backup", "out.db"]],
    ids=lambda args: args[0],
)
def test_a_server_command_names_the_extra_to_install(
    light_venv: Path, args: list[str], tmp_path: Path
) -> None:
    done = _run(light_venv, "monitorx", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"monitorx {args[0]} needs the server's dependencies (")
    assert lines[0].endswith(f"is not installed): {EXTRA}")
