"""`monitorx users create|list|disable|delete` on a real store before the server
starts, and the server letting the users made there log in with their roles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from monitorx.cli.main import main
from tests.conftest import make_settings, run_server

PASSWORD = "a long enough password"


def _users(data: Path, *args: str, stdin: str = "") -> list[str]:
    """Run `monitorx users …` in a process of its own, as a user would; its stdout lines."""
    done = subprocess.run(
        [sys.executable, "-m", "monitorx", "users", *args, "--data-dir", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MONITORX_AUTH_ENABLED": "true"},
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    return done.stdout.strip().splitlines()


def test_users_made_before_the_server_starts_log_in_with_their_roles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = _users(data, "create", "--username", "ops", "--role", "editor", stdin=PASSWORD + "\n")
    assert made[-1].startswith("usr_")
    _users(data, "create", "--username", "gone", "--role", "viewer", stdin=PASSWORD + "\n")
    _users(data, "create", "--username", "off", "--role", "viewer", stdin=PASSWORD + "\n")
    listed = _users(data, "list")
    assert len(listed) == 3 and "ops" in listed[0] and "editor" in listed[0]
    assert "$argon2" not in "\n".join(listed)
    assert _users(data, "delete", "gone") == ["deleted user gone"]
    assert _users(data, "disable", "off") == ["disabled user off"]

    settings = make_settings(data, auth_enabled=True)
    with run_server(settings) as server, httpx.Client(base_url=server.api, timeout=10) as api:
        login = api.post("/auth/token", json={"username": "ops", "password": PASSWORD})
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (
            api.post("/models", json={"id": "m", "model_type": "cv"}, headers=bearer).status_code
            == 201
        )
        assert api.get("/audit", headers=bearer).status_code == 403
        for username in ("gone", "off"):
            refused = api.post("/auth/token", json={"username": username, "password": PASSWORD})
            assert refused.status_code == 401, username


def test_a_taken_username_a_short_password_or_an_unknown_user_is_refused_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = str(tmp_path / "data")
    create = ["users", "create", "--username", "ann", "--role", "viewer", "--data-dir", data]
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD + "\n"))
    assert main(create) == 0
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD + "\n"))
    assert main(create) == 2
    assert "already a user 'ann'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", _Lines("short\n"))
    assert main([*create[:3], "bob", *create[4:]]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["users", "delete", "nobody", "--data-dir", data]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err


class _Lines:
    """A stdin that is no terminal."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self._lines.pop(0) if self._lines else ""
