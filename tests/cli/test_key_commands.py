"""`monitorx keys create|list|revoke` on a real store before the server starts, and
the server taking the keys made there: each with its role, revoked ones refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from monitorx.cli.main import main
from tests.conftest import make_settings, run_server


def _keys(data: Path, *args: str) -> list[str]:
    """Run `monitorx keys …` in a process of its own, as a user would; its stdout lines."""
    done = subprocess.run(
        [sys.executable, "-m", "monitorx", "keys", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MONITORX_AUTH_ENABLED": "true"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_keys_made_before_the_server_starts_work_with_their_roles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    editor = _keys(data, "create", "--role", "editor", "--name", "ci")[-1]
    viewer = _keys(data, "create", "--role", "viewer")[-1]
    assert editor.startswith("mxk_") and editor != viewer
    listed = _keys(data, "list")
    assert len(listed) == 2 and "editor" in listed[0] and "ci" in listed[0]
    assert editor not in "\n".join(listed) and editor.split("_", 2)[2] not in "\n".join(listed)
    viewer_id = viewer.split("_")[1]
    assert _keys(data, "revoke", viewer_id) == [f"revoked key {viewer_id}"]

    settings = make_settings(data, auth_enabled=True, api_keys=["admin-key"])
    with run_server(settings) as server, httpx.Client(base_url=server.api, timeout=10) as api:
        made = api.post(
            "/models", json={"id": "m", "model_type": "cv"}, headers={"X-API-Key": editor}
        )
        assert made.status_code == 201
        assert api.get("/models", headers={"X-API-Key": viewer}).status_code == 401
        audit = api.get(
            "/audit", params={"action": "create_model"}, headers={"X-API-Key": "admin-key"}
        ).json()
        assert audit[0]["actor"] == f"key:{editor.split('_')[1]}"


def test_a_bad_role_or_an_unknown_id_is_refused_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    with pytest.raises(SystemExit):
        main(["keys", "create", "--role", "owner", "--data-dir", data])
    assert "invalid choice: 'owner'" in capsys.readouterr().err
    assert main(["keys", "revoke", "0badc0de", "--data-dir", data]) == 2
    assert "no key '0badc0de'" in capsys.readouterr().err
