"""Single sign-on through OpenID Connect, against a real provider on 127.0.0.1
(tests/oidc_provider.py): the whole code flow over HTTP, the session it hands the
dashboard, the role it maps to, the audit log, and every refusal as a 4xx page."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from monitorx.core import Unauthorized
from monitorx.core.access import Role
from monitorx.server.auth import Authenticator
from monitorx.server.log_redaction import redact_credentials
from monitorx.server.settings import Settings
from monitorx.server.sso import RoleMapping, SsoRefused
from tests.conftest import LiveServer, make_settings, run_server
from tests.http_receiver import closed_port_url
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, run_oidc_provider

SECRET = "sso-test-jwt-secret-of-enough-bytes-0123"
ROLE_MAP = {"ml-team": "editor", "ml-admins": "admin", "sre": "viewer"}
_CREDENTIAL = re.compile(r'data-credential="([^"]+)"')


def sso_settings(data_dir: Path, issuer: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "auth_enabled": True,
        "api_keys": ["admin-key:admin"],
        "jwt_secret": SECRET,
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_role_map": ROLE_MAP,
    }
    values.update(overrides)
    return make_settings(data_dir, **values)


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with run_oidc_provider() as running:
        yield running


@pytest.fixture
def server(tmp_path: Path, provider: OidcProvider) -> Iterator[LiveServer]:
    with run_server(sso_settings(tmp_path / "data", provider.issuer)) as live:
        yield live


def sign_in(
    server: LiveServer,
    client: httpx.Client,
    next_page: str = "/alerts",
    tamper: Callable[[str], str] | None = None,
) -> httpx.Response:
    """Through the provider and back, as a browser follows the redirects."""
    login = client.get(f"{server.url}/auth/oidc/login", params={"next": next_page})
    assert login.status_code == 302, login.text
    authorize = client.get(login.headers["location"])
    assert authorize.status_code == 302, authorize.text
    callback = authorize.headers["location"]
    assert callback.startswith(f"{server.url}/auth/oidc/callback?")
    return client.get(tamper(callback) if tamper else callback)


def session_pair(answer: httpx.Response) -> dict[str, Any]:
    """The token pair the hand-off page carries (what POST /api/v1/auth/token gives)."""
    found = _CREDENTIAL.search(answer.text)
    assert found is not None, answer.text
    pair: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    assert pair["token_type"] == "bearer" and pair["refresh_token"].startswith("mxr_")
    return pair


def session_token(answer: httpx.Response) -> str:
    return str(session_pair(answer)["access_token"])


def audit(server: LiveServer) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.api}/audit", params={"action": "sso_login"}, headers=_ADMIN)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()
    return entries


_ADMIN = {"X-API-Key": "admin-key"}


def test_sign_in_hands_the_dashboard_a_token_of_the_mapped_role(
    server: LiveServer, provider: OidcProvider
) -> None:
    with httpx.Client() as browser:
        answer = sign_in(server, browser)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        assert 'data-next="/alerts"' in answer.text
        assert '<script src="/static/sso.js"></script>' in answer.text
        assert "monitorx-oidc" not in browser.cookies  # the flow's cookie is gone
    token = session_token(answer)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["username"] == "oidc+ana@example.com"
    assert (claims["role"], claims["project"]) == ("editor", "default")
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.api}/models", headers=bearer).status_code == 200
    assert httpx.get(f"{server.api}/audit", headers=bearer).status_code == 403  # editor
    [entry] = audit(server)
    assert (entry["actor"], entry["outcome"]) == ("oidc:ana@example.com", "success")
    assert entry["target"] == "/auth/oidc/callback"


def test_the_highest_role_among_the_groups_wins(server: LiveServer, provider: OidcProvider) -> None:
    provider.user["groups"] = ["sre", "ml-admins", "ml-team"]
    with httpx.Client() as browser:
        token = session_token(sign_in(server, browser))
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["role"] == "admin"
    assert httpx.get(f"{server.api}/audit", headers={"Authorization": f"Bearer {token}"}).is_success


def test_a_person_without_a_mapped_group_gets_the_default_role(
    server: LiveServer, provider: OidcProvider
) -> None:
    provider.user["groups"] = "finance"  # a string claim is one value
    with httpx.Client() as browser:
        token = session_token(sign_in(server, browser))
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["role"] == "viewer"


def test_without_a_default_role_such_a_person_is_refused(
    tmp_path: Path, provider: OidcProvider
) -> None:
    provider.user["groups"] = ["finance"]
    settings = sso_settings(tmp_path / "data", provider.issuer, oidc_default_role="none")
    with run_server(settings) as server, httpx.Client() as browser:
        answer = sign_in(server, browser)
        assert answer.status_code == 403
        assert "no role on this server is mapped to your &#x27;groups&#x27;" in answer.text
        assert "data-credential" not in answer.text
        [entry] = audit(server)
    assert (entry["actor"], entry["outcome"]) == ("oidc:ana@example.com", "denied")


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "another-client"}, "aud"),
        ({"nonce": "not-the-nonce-sent"}, "nonce"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired"),
        ({"iss": "https://idp.example.com"}, "iss"),
    ],
    ids=["wrong-audience", "wrong-nonce", "expired", "wrong-issuer"],
)
def test_an_id_token_that_fails_validation_is_refused(
    server: LiveServer, provider: OidcProvider, claims: dict[str, Any], why: str
) -> None:
    provider.id_token_claims = claims
    with httpx.Client() as browser:
        answer = sign_in(server, browser)
    assert answer.status_code == 403
    assert "the provider&#x27;s ID token is not valid" in answer.text
    assert why in answer.text
    assert "data-credential" not in answer.text
    [entry] = audit(server)
    assert (entry["actor"], entry["outcome"]) == ("anonymous", "denied")


def test_an_id_token_signed_with_another_key_is_refused(
    server: LiveServer, provider: OidcProvider
) -> None:
    provider.sign_with = RSAKey.generate_key(2048)  # same kid, a key the JWKS lacks
    with httpx.Client() as browser:
        answer = sign_in(server, browser)
    assert answer.status_code == 403
    assert "ID token is not valid" in answer.text and "signature" in answer.text


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def test_a_state_that_does_not_match_is_refused(server: LiveServer, provider: OidcProvider) -> None:
    with httpx.Client() as browser:
        answer = sign_in(server, browser, tamper=lambda url: _with_query(url, state="forged"))
    assert answer.status_code == 400
    assert "state mismatch" in answer.text
    assert provider.token_requests == 0  # the code was never exchanged


def test_an_answer_reaching_another_browser_is_refused(
    server: LiveServer, provider: OidcProvider
) -> None:
    """Login CSRF: a callback URL (code and state) sent to a victim's browser, which
    holds no cookie of that sign-in."""
    with httpx.Client() as attacker:
        login = attacker.get(f"{server.url}/auth/oidc/login")
        callback = attacker.get(login.headers["location"]).headers["location"]
    with httpx.Client() as victim:
        answer = victim.get(callback)
    assert answer.status_code == 400
    assert "not started in this browser" in answer.text
    assert provider.token_requests == 0


def test_an_altered_state_cookie_is_refused(server: LiveServer, provider: OidcProvider) -> None:
    with httpx.Client() as browser:

        def alter(url: str) -> str:
            cookie = browser.cookies["monitorx-oidc"]
            browser.cookies.set("monitorx-oidc", cookie[:-4] + "AAAA", path="/auth/oidc/")
            return url

        answer = sign_in(server, browser, tamper=alter)
    assert answer.status_code == 400
    assert "cookie was altered" in answer.text


def test_an_error_from_the_provider_is_a_clear_4xx(
    server: LiveServer, provider: OidcProvider
) -> None:
    provider.deny = "access_denied"
    with httpx.Client() as browser:
        answer = sign_in(server, browser)
    assert answer.status_code == 400
    assert "the provider refused the sign-in: access_denied" in answer.text


def test_a_code_works_once(server: LiveServer, provider: OidcProvider) -> None:
    with httpx.Client() as browser:
        login = browser.get(f"{server.url}/auth/oidc/login")
        callback = browser.get(login.headers["location"]).headers["location"]
        cookie = browser.cookies["monitorx-oidc"]
        assert browser.get(callback).status_code == 200
        browser.cookies.set("monitorx-oidc", cookie, path="/auth/oidc/")  # replayed too
        again = browser.get(callback)
    assert again.status_code == 400
    assert "invalid_grant" in again.text


def test_a_provider_that_does_not_answer_is_a_page_not_a_crash(tmp_path: Path) -> None:
    settings = sso_settings(tmp_path / "data", closed_port_url())
    with run_server(settings) as server:
        answer = httpx.get(f"{server.url}/auth/oidc/login")
    assert answer.status_code == 502
    assert "could not be reached" in answer.text


def test_login_goes_back_only_to_a_page_of_this_server(
    server: LiveServer, provider: OidcProvider
) -> None:
    with httpx.Client() as browser:
        answer = sign_in(server, browser, next_page="//evil.example.com/x")
    assert 'data-next="/"' in answer.text


def test_the_login_page_learns_whether_sso_is_on(server: LiveServer, tmp_path: Path) -> None:
    assert httpx.get(f"{server.url}/auth/oidc/config").json() == {
        "enabled": True,
        "login_url": "/auth/oidc/login",
    }
    with run_server(make_settings(tmp_path / "off", auth_enabled=True)) as off:
        assert httpx.get(f"{off.url}/auth/oidc/config").json()["enabled"] is False
        assert httpx.get(f"{off.url}/auth/oidc/login").status_code == 404
        assert httpx.get(f"{off.url}/auth/oidc/callback").status_code == 404


def test_sso_settings_that_cannot_work_stop_the_server_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="oidc_issuer needs oidc_client_id"):
        sso_settings(tmp_path, "https://idp.example.com", oidc_client_id=None)
    with pytest.raises(ValidationError, match="unknown role 'owner'"):
        sso_settings(tmp_path, "https://idp.example.com", oidc_role_map={"x": "owner"})


def _mapping(**overrides: object) -> RoleMapping:
    settings = sso_settings(Path("unused"), "https://idp.example.com", **overrides)
    return RoleMapping.from_settings(settings)


def test_role_map_values_may_name_the_project() -> None:
    mapping = _mapping(oidc_role_map={"ops": "default:admin", "other": "team-b:admin"})
    identity = mapping.identity({"sub": "u1", "email": "a@x.org", "groups": ["ops"]})
    assert (identity.name, identity.project, identity.role) == ("oidc:a@x.org", "default", "admin")
    with pytest.raises(SsoRefused, match="does not serve project 'team-b'") as refused:
        mapping.identity({"sub": "u1", "groups": ["other"]})
    assert refused.value.status == 403


def test_a_claim_of_another_shape_matches_nothing() -> None:
    mapping = _mapping(oidc_default_role="none")
    for held in (None, 3, {"ml-team": True}, [{"name": "ml-team"}], ["ml-team", 5]):
        claims = {"sub": "u1", "groups": held}
        if held == ["ml-team", 5]:
            assert mapping.identity(claims).role == Role.EDITOR
        else:
            with pytest.raises(SsoRefused, match="no role"):
                mapping.identity(claims)


def test_an_unverified_email_does_not_name_the_person() -> None:
    identity = _mapping(oidc_roles_claim="roles").identity(
        {"sub": "u-7", "email": "boss@corp.example", "email_verified": False, "roles": ["sre"]}
    )
    assert (identity.name, identity.role) == ("oidc:u-7", Role.VIEWER)


def test_a_token_acts_in_the_project_it_names() -> None:
    auth = Authenticator(True, [], SECRET, project="default")
    other = jwt.encode({"sub": "x", "role": "admin", "project": "team-b"}, SECRET, "HS256")
    principal = auth.authenticate_headers({"authorization": f"Bearer {other}"})
    assert (principal.role, principal.project) == (Role.ADMIN, "team-b")
    mine = jwt.encode({"sub": "x", "role": "viewer"}, SECRET, "HS256")
    principal = auth.authenticate_headers({"authorization": f"Bearer {mine}"})
    assert (principal.role, principal.project) == (Role.VIEWER, "default")
    bad = jwt.encode({"sub": "x", "role": "viewer", "project": "no spaces"}, SECRET, "HS256")
    with pytest.raises(Unauthorized, match="project"):
        auth.authenticate_headers({"authorization": f"Bearer {bad}"})


def test_neither_the_code_nor_the_secrets_reach_the_log(
    server: LiveServer, provider: OidcProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="uvicorn.access")  # request lines, as deployed
    with httpx.Client() as browser:
        token = session_token(sign_in(server, browser))
        provider.id_token_claims = {"aud": "another-client"}
        assert sign_in(server, browser).status_code == 403
    assert "/auth/oidc/callback?code=<secret>" in caplog.text  # the line is there...
    for secret in (*provider.issued_codes, CLIENT_SECRET, SECRET, token):
        assert secret not in caplog.text  # ...without the code


def test_the_authorization_code_stays_out_of_the_log() -> None:
    line = '127.0.0.1:5 - "GET /auth/oidc/callback?code=Xy_9-secret&state=abc HTTP/1.1" 200'
    assert redact_credentials(line) == (
        '127.0.0.1:5 - "GET /auth/oidc/callback?code=<secret>&state=abc HTTP/1.1" 200'
    )
    assert redact_credentials("status_code=502 exit_code=3") == "status_code=502 exit_code=3"


def test_the_sso_pair_renews_like_a_password_logins(
    server: LiveServer, provider: OidcProvider
) -> None:
    with httpx.Client() as browser:
        pair = session_pair(sign_in(server, browser))
    renewed = httpx.post(f"{server.api}/auth/token", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    bearer = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert httpx.get(f"{server.api}/models", headers=bearer).status_code == 200
    # A refresh token works once: the spent one is refused.
    again = httpx.post(f"{server.api}/auth/token", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401


def test_a_provider_cannot_sign_in_as_a_user_with_a_password(
    server: LiveServer, provider: OidcProvider
) -> None:
    made = httpx.post(
        f"{server.api}/users",
        headers=_ADMIN,
        json={"username": "oidc+ana@example.com", "password": "a-long-password", "role": "admin"},
    )
    assert made.status_code == 201, made.text
    with httpx.Client() as browser:
        answer = sign_in(server, browser)
    assert answer.status_code == 403
    assert "data-credential" not in answer.text
    assert "password" in answer.text
