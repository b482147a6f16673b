"""Single sign-on in headless Chromium: from the login page through the OpenID
provider on 127.0.0.1 (tests/oidc_provider.py) and back, signed in with the role
the person's group maps to; the session never appears in a URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, make_settings, run_server
from tests.dashboard.conftest import BrowserPage
from tests.oidc_provider import OidcProvider, run_oidc_provider
from tests.server.test_sso_api import sso_settings


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with run_oidc_provider() as running:
        yield running


@pytest.fixture
def server(tmp_path: Path, provider: OidcProvider) -> Iterator[LiveServer]:
    with run_server(sso_settings(tmp_path / "data", provider.issuer)) as live:
        yield live


def _rows(tab: BrowserPage) -> list[list[str]]:
    cells: list[list[str]] = tab.page.eval_on_selector_all(
        "#audit tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))",
    )
    return cells


def test_sso_signs_an_admin_in_and_the_audit_page_shows_the_sign_in(
    server: LiveServer, provider: OidcProvider, tab: BrowserPage
) -> None:
    provider.user["groups"] = ["ml-admins"]
    page = tab.page
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    page.goto(server.url + "/audit")
    page.wait_for_url(f"{server.url}/login?next=%2Faudit")
    page.wait_for_selector("#login-sso", state="visible")
    tab.screenshot("login-sso")
    page.click("#login-sso")
    page.wait_for_url(f"{server.url}/audit")
    tab.wait_refreshed()  # the page's API calls, as an admin: /api/v1/audit needs admin
    rows = _rows(tab)
    assert [r[1:4] for r in rows if r[2] == "sso_login"] == [
        ["oidc:ana@example.com", "sso_login", "/auth/oidc/callback"]
    ]
    assert not page.is_hidden("#logout")
    # Through the provider and back; the token was in no URL the browser asked for.
    assert any(url.startswith(f"{provider.url}/authorize?") for url in visited)
    token = page.evaluate("() => JSON.parse(sessionStorage.getItem('monitorx-credential')).value")
    assert token.count(".") == 2 and all(token not in url for url in visited)
    assert all("401" in e for e in tab.errors), tab.errors  # those before signing in


def test_a_viewer_reads_but_may_not_change(
    server: LiveServer, provider: OidcProvider, tab: BrowserPage
) -> None:
    provider.user["groups"] = ["sre"]
    tab.page.goto(f"{server.url}/login?next=/alerts")
    tab.page.click("#login-sso")
    tab.page.wait_for_url(f"{server.url}/alerts")
    tab.wait_refreshed()
    statuses = tab.page.evaluate(
        """async () => {
             const c = JSON.parse(sessionStorage.getItem("monitorx-credential"));
             const headers = {"Authorization": "Bearer " + c.value,
                              "Content-Type": "application/json"};
             const read = await fetch("/api/v1/models", {headers});
             const write = await fetch("/api/v1/models", {method: "POST", headers,
               body: JSON.stringify({id: "m", model_type: "tabular"})});
             return [read.status, write.status];
           }"""
    )
    assert statuses == [200, 403]


def test_a_refused_sign_in_is_a_page_that_says_why(
    server: LiveServer, provider: OidcProvider, tab: BrowserPage
) -> None:
    provider.id_token_claims = {"aud": "another-client"}
    tab.page.goto(f"{server.url}/login")
    tab.page.click("#login-sso")
    tab.page.wait_for_selector("#sso-error")
    assert "ID token is not valid" in tab.page.inner_text("#sso-error")
    assert tab.page.evaluate("() => sessionStorage.getItem('monitorx-credential')") is None


def test_without_a_provider_the_login_page_offers_no_sso(tmp_path: Path, tab: BrowserPage) -> None:
    with run_server(make_settings(tmp_path / "data", auth_enabled=True)) as server:
        tab.page.goto(f"{server.url}/login")
        tab.page.wait_for_load_state("networkidle")
        assert tab.page.is_hidden("#sso")
