"""Users on the dashboard, in headless Chromium: an admin logs in with a username and
password, sees the project and role in the header, manages keys and users on the
admin page; a user with TOTP is asked for a code; a token that expires is renewed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyotp
import pytest

from monitorx.core import FakeClock
from tests.conftest import LiveServer, make_settings, run_server
from tests.dashboard.conftest import BrowserPage

KEY = "admin-key-of-the-users-test"
PASSWORD = "a password long enough"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def server(tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=[KEY])
    with run_server(settings, clock=clock) as live:
        for username, role in (("root", "admin"), ("vic", "viewer")):
            made = httpx.post(
                f"{live.api}/users",
                json={"username": username, "password": PASSWORD, "role": role},
                headers={"X-API-Key": KEY},
            )
            assert made.status_code == 201, made.text
        yield live


def _log_in(tab: BrowserPage, server: LiveServer, username: str, next_page: str) -> None:
    page = tab.page
    page.goto(f"{server.url}{next_page}")
    page.wait_for_url(f"{server.url}/login?next=*")
    page.check("input[name=kind][value=password]")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")


def _cells(tab: BrowserPage, table: str) -> list[list[str]]:
    cells: list[list[str]] = tab.page.eval_on_selector_all(
        f"#{table} tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))",
    )
    return cells


def test_an_admin_logs_in_with_a_password_and_manages_keys_and_users(
    server: LiveServer, tab: BrowserPage
) -> None:
    page = tab.page
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server.url}/login")
    page.check("input[name=kind][value=password]")
    page.fill("#login-username", "root")
    page.fill("#login-password", "not the password")
    page.click("#login-submit")
    page.wait_for_function("() => document.getElementById('login-error').textContent !== ''")
    assert "invalid" in page.inner_text("#login-error")

    _log_in(tab, server, "root", "/admin")
    page.wait_for_url(f"{server.url}/admin")
    tab.wait_refreshed()
    page.wait_for_selector("#whoami:not([hidden])")
    assert page.inner_text("#whoami") == "default · admin"
    assert sorted(row[0] for row in _cells(tab, "users")) == ["root", "vic"]
    assert _cells(tab, "keys") == [["No keys yet."]]
    tab.screenshot("admin")

    page.fill("#key-name", "collector")
    page.select_option("#key-role", "ingest")
    page.click("#key-create")
    page.wait_for_selector("#key-new:not([hidden])")
    key = page.inner_text("#key-new").rsplit(" ", 1)[-1]
    assert key.startswith("mxk_")
    assert (
        httpx.post(
            f"{server.api}/metrics/inference",
            json={"model_id": "m", "latency": 1},
            headers={"X-API-Key": key},
        ).status_code
        == 202
    )
    page.click("#keys button[data-key]")
    page.wait_for_function("() => !document.querySelector('#keys button[data-key]')")
    assert (
        httpx.post(
            f"{server.api}/metrics/inference",
            json={"model_id": "m", "latency": 1},
            headers={"X-API-Key": key},
        ).status_code
        == 401
    )

    page.fill("#user-name", "newbie")
    page.fill("#user-password", PASSWORD)
    page.select_option("#user-role", "editor")
    page.click("#user-create")
    page.wait_for_selector("#users tr[data-user=newbie]")
    page.click("#users button[data-user=vic]")
    page.wait_for_function("() => !document.querySelector('#users tr[data-user=vic]')")
    with _as_admin(server) as admin:
        assert "vic" not in {u["username"] for u in admin.get("/users").json()}
    assert PASSWORD not in page.content()

    page.goto(f"{server.url}/audit")
    tab.wait_refreshed()
    actions = {(row[1], row[2]) for row in _cells(tab, "audit")}
    assert ("user:root", "create_user") in actions and ("user:root", "delete_user") in actions
    assert all("401" in e for e in tab.errors), tab.errors


def _as_admin(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers={"X-API-Key": KEY}, timeout=10)


def test_a_viewer_sees_its_role_and_is_refused_the_admin_page(
    server: LiveServer, tab: BrowserPage
) -> None:
    _log_in(tab, server, "vic", "/admin")
    tab.page.wait_for_url(f"{server.url}/admin")
    tab.wait_refreshed()
    tab.page.wait_for_selector("#whoami:not([hidden])")
    assert tab.page.inner_text("#whoami") == "default · viewer"
    assert "for admins" in _cells(tab, "users")[0][0]


def test_totp_is_asked_for_and_an_expired_token_is_renewed(
    server: LiveServer, tab: BrowserPage, clock: FakeClock
) -> None:
    page = tab.page
    login = httpx.post(f"{server.api}/auth/token", json={"username": "vic", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    secret = httpx.post(f"{server.api}/auth/totp", headers=bearer).json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = httpx.post(
        f"{server.api}/auth/totp/confirm", json={"code": totp.at(clock.now())}, headers=bearer
    )
    assert confirmed.status_code == 204
    clock.advance(30)

    _log_in(tab, server, "vic", "/alerts")
    page.wait_for_selector("#login-totp:not([hidden])")
    page.fill("#login-totp", totp.at(clock.now()))
    page.click("#login-submit")
    page.wait_for_url(f"{server.url}/alerts")
    tab.wait_refreshed()
    first = page.evaluate("() => JSON.parse(sessionStorage.getItem('monitorx-credential'))")
    assert first["kind"] == "user"

    # Past the access token's life (on the server's clock): the next requests are
    # refused once, renew the pair with the refresh token, and go through.
    clock.advance(901)
    page.reload()
    page.wait_for_function(
        "(old) => JSON.parse(sessionStorage.getItem('monitorx-credential')).refresh !== old",
        arg=first["refresh"],
    )
    tab.wait_refreshed()
    assert page.url == f"{server.url}/alerts"
    renewed = page.evaluate("() => JSON.parse(sessionStorage.getItem('monitorx-credential'))")

    page.click("#logout")
    page.wait_for_url(f"{server.url}/login")
    again = httpx.post(f"{server.api}/auth/token", json={"refresh_token": renewed["refresh"]})
    assert again.status_code == 401, "signing out revoked the refresh token"
