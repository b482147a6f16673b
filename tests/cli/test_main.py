"""The `monitorx` command line."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from monitorx.cli.main import _bootstrap_key, build_parser
from tests.system.conftest import start_server


def test_bootstrap_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    key = _bootstrap_key(tmp_path / "data")
    path = tmp_path / "data" / "admin-api-key"
    assert key.startswith("mx_")
    assert len(key) > 30
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _bootstrap_key(tmp_path / "data") == key


def test_serve_flags_override_the_environment() -> None:
    args = build_parser().parse_args(
        ["serve", "--host", "0.0.0.0", "--port", "9001", "--data-dir", "/srv/mx"]
    )
    assert (args.host, args.port, args.data_dir) == ("0.0.0.0", 9001, "/srv/mx")


def test_version_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitorx", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "monitorx 0.1.0"


@pytest.mark.system
def test_serve_with_auth_on_and_no_keys_uses_the_bootstrap_key(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", extra_env={"MONITORX_AUTH_ENABLED": "true"})
    try:
        key = (tmp_path / "data" / "admin-api-key").read_text().strip()
        assert httpx.get(f"{server.api}/models").status_code == 401
        assert httpx.get(f"{server.api}/models", headers={"X-API-Key": key}).status_code == 200
    finally:
        server.stop()
