"""With auth on, the dashboard asks for a key or JWT once, keeps it for the tab, and
uses it for the REST API and the live WebSocket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import jwt
import pytest

from tests.conftest import LiveServer, make_settings, run_server
from tests.dashboard.conftest import BrowserPage

KEY = "dashboard-key"
SECRET = "jwt-secret-for-the-dashboard-test-0123456789"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path / "data", auth_enabled=True, api_keys=[f"{KEY}:editor"], jwt_secret=SECRET
    )
    with run_server(settings) as live:
        response = httpx.post(
            f"{live.api}/metrics/inference",
            json={"model_id": "fraud-v3", "latency": 42.0},
            headers={"X-API-Key": KEY},
        )
        assert response.status_code == 202
        yield live


def test_login_with_a_key_then_pages_and_live_updates_work(
    server: LiveServer, tab: BrowserPage
) -> None:
    page = tab.page
    page.goto(server.url + "/models/fraud-v3")
    page.wait_for_url(f"{server.url}/login?next=%2Fmodels%2Ffraud-v3")
    tab.screenshot("login")
    page.fill("#login-value", "wrong")
    page.click("#login-submit")
    page.wait_for_function("() => document.getElementById('login-error').textContent !== ''")
    assert "invalid API key" in page.inner_text("#login-error")
    page.fill("#login-value", KEY)
    page.click("#login-submit")
    page.wait_for_url(f"{server.url}/models/fraud-v3")
    tab.wait_refreshed()
    assert page.inner_text("#tile-count b") == "1"
    page.wait_for_selector("#live.on")  # the WebSocket accepted the key
    httpx.post(
        f"{server.api}/metrics/inference",
        json={"model_id": "fraud-v3", "latency": 43.0},
        headers={"X-API-Key": KEY},
    )
    page.wait_for_function("() => document.querySelector('#tile-count b').textContent === '2'")
    # The 401s before signing in are the browser's console errors; none after.
    assert all("401" in e for e in tab.errors)


def test_login_with_a_jwt(server: LiveServer, tab: BrowserPage) -> None:
    token = jwt.encode({"sub": "ana", "role": "read"}, SECRET, algorithm="HS256")
    tab.page.goto(server.url + "/login?next=/alerts")
    tab.page.check("input[value=jwt]")
    tab.page.fill("#login-value", token)
    tab.page.click("#login-submit")
    tab.page.wait_for_url(f"{server.url}/alerts")
    tab.wait_refreshed()
    tab.page.wait_for_selector("#live.on")
    assert tab.errors == []


@pytest.mark.parametrize("next_page", ["//example.com/x", "/\\example.com", "https://example.com"])
def test_login_never_leaves_the_server(
    server: LiveServer, tab: BrowserPage, next_page: str
) -> None:
    tab.page.goto(f"{server.url}/login?next={quote(next_page, safe='')}")
    tab.page.fill("#login-value", KEY)
    tab.page.click("#login-submit")
    tab.page.wait_for_url(f"{server.url}/")
