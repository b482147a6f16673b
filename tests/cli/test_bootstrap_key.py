"""The admin key of a first start with auth on and no key configured: created in
the store (which keeps only its hash) and written once to ``admin-api-key``."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx
import pytest

from monitorx.cli.bootstrap_key import BOOTSTRAP_KEY_FILE, bootstrap_admin_key
from monitorx.server.settings import Settings
from tests.system.conftest import start_server


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, auth_enabled=True)


def test_the_first_start_writes_a_stored_key_once_and_keeps_it_private(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    first = asyncio.run(bootstrap_admin_key(settings))
    path = tmp_path / "data" / BOOTSTRAP_KEY_FILE
    key = path.read_text().strip()
    assert first.created and first.legacy_key is None
    assert key.startswith("mxk_")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = asyncio.run(bootstrap_admin_key(settings))
    assert not again.created
    assert path.read_text().strip() == key  # written once, never replaced
    # The store holds the key's hash, not the key: no file but admin-api-key has it.
    secret = key.split("_", 2)[2].encode()  # mxk_<id>_<secret>: the secret may hold "_"
    assert len(secret) >= 40
    for stored in (tmp_path / "data").rglob("*"):
        if stored.is_file() and stored.name != BOOTSTRAP_KEY_FILE:
            assert secret not in stored.read_bytes(), stored


def test_a_project_with_keys_gets_no_bootstrap_key(tmp_path: Path) -> None:
    from monitorx.cli.main import main

    data = tmp_path / "data"
    assert main(["keys", "create", "--role", "admin", "--data-dir", str(data)]) == 0
    done = asyncio.run(bootstrap_admin_key(_settings(data)))
    assert not done.created
    assert not (data / BOOTSTRAP_KEY_FILE).exists()
    assert "monitorx keys list" in done.message


def test_an_earlier_versions_key_file_is_still_accepted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / BOOTSTRAP_KEY_FILE).write_text("mx_an-earlier-versions-key-0123456789\n")
    done = asyncio.run(bootstrap_admin_key(_settings(data)))
    assert done.legacy_key == "mx_an-earlier-versions-key-0123456789"
    assert "monitorx keys create" in done.message


@pytest.mark.system
def test_the_bootstrap_key_opens_the_api_and_survives_a_restart(tmp_path: Path) -> None:
    env = {"MONITORX_AUTH_ENABLED": "true"}
    for _ in range(2):
        server = start_server(tmp_path / "data", extra_env=env)
        try:
            key = (tmp_path / "data" / BOOTSTRAP_KEY_FILE).read_text().strip()
            assert httpx.get(f"{server.api}/models").status_code == 401
            ok = httpx.get(f"{server.api}/models", headers={"X-API-Key": key})
            assert ok.status_code == 200
            keys = httpx.get(f"{server.api}/keys", headers={"X-API-Key": key}).json()
            assert [k["role"] for k in keys] == ["admin"]
        finally:
            server.stop()
