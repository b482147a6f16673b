"""Users and their tokens on every backend: `/api/v1/users` for admins, logging in
at `/api/v1/auth/token`, refresh tokens that rotate and betray their reuse, access
tokens refused when expired, tampered with or unsigned, roles enforced for token
holders, and TOTP required once enrolled."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pyotp
import pytest

from monitorx.core import FakeClock
from monitorx.core.access import Role
from tests.conftest import LiveServer, make_settings, run_server

PASSWORD = "correct horse battery staple"
MODEL = {"id": "m", "model_type": "cv"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def secured(tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path / "data", auth_enabled=True, api_keys=["admin-key"])
    with run_server(settings, clock=clock) as server:
        yield server


def _admin(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers={"X-API-Key": "admin-key"}, timeout=10)


def _bearer(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.api, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def _create(server: LiveServer, username: str, role: str) -> dict[str, object]:
    with _admin(server) as admin:
        made = admin.post("/users", json={"username": username, "password": PASSWORD, "role": role})
    assert made.status_code == 201, made.text
    body: dict[str, object] = made.json()
    return body


def _login(server: LiveServer, username: str, **extra: str) -> httpx.Response:
    body = {"username": username, "password": PASSWORD, **extra}
    return httpx.post(f"{server.api}/auth/token", json=body, timeout=10)


def _refresh(server: LiveServer, token: str) -> httpx.Response:
    return httpx.post(f"{server.api}/auth/token", json={"refresh_token": token}, timeout=10)


def test_a_user_logs_in_and_acts_with_its_role(secured: LiveServer) -> None:
    _create(secured, "vera", "viewer")
    answer = _login(secured, "vera")
    assert answer.status_code == 200, answer.text
    pair = answer.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert {"sub", "project", "role", "exp", "iat", "jti"} <= set(claims)
    assert claims["role"] == "viewer" and claims["project"] == "default"
    with _bearer(secured, pair["access_token"]) as vera:
        assert vera.get("/models").status_code == 200
        assert vera.post("/models", json=MODEL).status_code == 403
        assert vera.get("/users").status_code == 403
        assert vera.post("/keys", json={"role": "admin"}).status_code == 403
    _create(secured, "ed", "editor")
    with _bearer(secured, _login(secured, "ed").json()["access_token"]) as ed:
        assert ed.post("/models", json=MODEL).status_code == 201
        assert ed.get("/audit").status_code == 403
    _create(secured, "ada", "admin")
    with _bearer(secured, _login(secured, "ada").json()["access_token"]) as ada:
        assert ada.get("/users").status_code == 200
        assert ada.get("/audit").status_code == 200


def test_a_wrong_password_and_an_unknown_user_are_the_same_401(secured: LiveServer) -> None:
    _create(secured, "alice", "viewer")
    wrong = httpx.post(
        f"{secured.api}/auth/token", json={"username": "alice", "password": "not-it-at-all"}
    )
    unknown = httpx.post(
        f"{secured.api}/auth/token", json={"username": "nobody", "password": "not-it-at-all"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    for body in ({}, {"username": "alice"}, {"password": PASSWORD}, [], {"username": 3}):
        assert httpx.post(f"{secured.api}/auth/token", json=body).status_code == 401, body
    assert _refresh(secured, "mxr_not-a-token").status_code == 401


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(secured: LiveServer) -> None:
    _create(secured, "rita", "viewer")
    first = _login(secured, "rita").json()
    second = _refresh(secured, first["refresh_token"])
    assert second.status_code == 200, second.text
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    with _bearer(secured, second_pair["access_token"]) as rita:
        assert rita.get("/models").status_code == 200
    # The first token again: someone holds a copy. The family is revoked, so the
    # second token, not used yet, stops working too.
    assert _refresh(secured, first["refresh_token"]).status_code == 401
    assert _refresh(secured, second_pair["refresh_token"]).status_code == 401
    # A new login starts a new family.
    assert _refresh(secured, _login(secured, "rita").json()["refresh_token"]).status_code == 200


def test_logging_out_revokes_the_refresh_token(secured: LiveServer) -> None:
    _create(secured, "otto", "viewer")
    pair = _login(secured, "otto").json()
    out = httpx.post(f"{secured.api}/auth/revoke", json={"refresh_token": pair["refresh_token"]})
    assert out.status_code == 204
    assert _refresh(secured, pair["refresh_token"]).status_code == 401
    unknown = httpx.post(f"{secured.api}/auth/revoke", json={"refresh_token": "mxr_x"})
    assert unknown.status_code == 204


def test_an_expired_access_token_is_401(secured: LiveServer, clock: FakeClock) -> None:
    _create(secured, "eve", "viewer")
    pair = _login(secured, "eve").json()
    with _bearer(secured, pair["access_token"]) as eve:
        assert eve.get("/models").status_code == 200
        clock.advance(pair["expires_in"] + 1)
        assert eve.get("/models").status_code == 401
    # The refresh token outlives it.
    assert _refresh(secured, pair["refresh_token"]).status_code == 200


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_unsigned_and_foreign_tokens_are_401(secured: LiveServer) -> None:
    _create(secured, "mal", "viewer")
    token = _login(secured, "mal").json()["access_token"]
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    admin_claims = {**claims, "role": "admin"}
    forged = [
        # The role raised, the signature kept.
        f"{header}.{_b64(admin_claims)}.{signature}",
        # alg none, with and without the token type.
        f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(admin_claims)}.",
        f"{_b64({'alg': 'none'})}.{_b64(admin_claims)}.",
        # Signed with another key.
        jwt.encode(admin_claims, "x" * 32, algorithm="HS256", headers={"typ": "at+jwt"}),
        # A signature of another token.
        f"{header}.{payload}.{signature[:-4]}AAAA",
    ]
    for credential in forged:
        with _bearer(secured, credential) as client:
            assert client.get("/models").status_code == 401, credential
            assert client.get("/users").status_code == 401, credential


def test_deleting_a_user_ends_its_tokens(secured: LiveServer) -> None:
    made = _create(secured, "dan", "editor")
    pair = _login(secured, "dan").json()
    with _admin(secured) as admin:
        assert admin.delete(f"/users/{made['id']}").status_code == 204
        assert admin.delete(f"/users/{made['id']}").status_code == 404
        assert admin.get("/users").json() == []
    with _bearer(secured, pair["access_token"]) as dan:
        assert dan.get("/models").status_code == 401
    assert _refresh(secured, pair["refresh_token"]).status_code == 401
    assert _login(secured, "dan").status_code == 401


def _wrong_code(totp: pyotp.TOTP, clock: FakeClock) -> str:
    """A code that no step within the accepted drift generates."""
    near = {totp.at(clock.now().timestamp() + 30 * offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_totp_is_required_once_enrolled(secured: LiveServer, clock: FakeClock) -> None:
    _create(secured, "tess", "viewer")
    with _bearer(secured, _login(secured, "tess").json()["access_token"]) as tess:
        enrolment = tess.post("/auth/totp")
        assert enrolment.status_code == 200, enrolment.text
        secret = enrolment.json()["secret"]
        assert enrolment.json()["uri"].startswith("otpauth://totp/MonitorX:tess?secret=")
        # Still off until a code is confirmed.
        assert _login(secured, "tess").status_code == 200
        totp = pyotp.TOTP(secret)
        wrong = _wrong_code(totp, clock)
        assert tess.post("/auth/totp/confirm", json={"code": wrong}).status_code == 401
        assert _login(secured, "tess").status_code == 200, "a wrong code leaves TOTP off"
        confirmed = tess.post("/auth/totp/confirm", json={"code": totp.at(clock.now())})
        assert confirmed.status_code == 204, confirmed.text
        assert tess.post("/auth/totp").status_code == 409, "already on"
    needs = _login(secured, "tess")
    assert needs.status_code == 401 and "totp" in needs.json()["detail"].lower()
    assert _login(secured, "tess", totp=wrong).status_code == 401
    # The code that confirmed cannot log in: it was used.
    assert _login(secured, "tess", totp=totp.at(clock.now())).status_code == 401
    clock.advance(30)
    code = totp.at(clock.now())
    assert _login(secured, "tess", totp=code).status_code == 200
    assert _login(secured, "tess", totp=code).status_code == 401, "a replayed code"


def test_totp_enrolment_is_for_users_only(secured: LiveServer) -> None:
    with _admin(secured) as admin:
        assert admin.post("/auth/totp").status_code == 403


def test_users_are_for_admins_and_never_show_a_password(
    secured: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = _create(secured, "paula", "editor")
    assert set(made) == {
        "id",
        "project",
        "username",
        "role",
        "created_at",
        "disabled_at",
        "totp_enabled",
    }
    assert _login(secured, "paula").status_code == 200
    httpx.post(f"{secured.api}/auth/token", json={"username": "paula", "password": "wrong-pw-x"})
    with _admin(secured) as admin:
        listed = admin.get("/users")
        assert [u["username"] for u in listed.json()] == ["paula"]
        assert (
            admin.post(
                "/users", json={"username": "paula", "password": PASSWORD, "role": "viewer"}
            ).status_code
            == 409
        )
        for body, field in (
            ({"username": "x", "password": "short", "role": "viewer"}, "password"),
            ({"username": "bad name", "password": PASSWORD, "role": "viewer"}, "username"),
            ({"username": "y", "password": PASSWORD, "role": "owner"}, "role"),
            ({"username": "y", "password": PASSWORD}, "role"),
        ):
            refused = admin.post("/users", json=body)
            assert refused.status_code == 422, body
            assert refused.json()["errors"][0]["field"] == field
        audit = admin.get("/audit", params={"limit": 100}).text
    for text in (listed.text, audit, caplog.text):
        assert PASSWORD not in text
        assert "$argon2" not in text
    with _bearer(secured, _login(secured, "paula").json()["access_token"]) as paula:
        assert paula.get("/users").status_code == 403
        assert paula.post("/users", json={"username": "z"}).status_code == 403


def test_logins_and_user_changes_are_in_the_audit_log(secured: LiveServer) -> None:
    made = _create(secured, "aud", "viewer")
    _login(secured, "aud")
    httpx.post(f"{secured.api}/auth/token", json={"username": "aud", "password": "wrong-pw-x"})
    with _bearer(secured, _login(secured, "aud").json()["access_token"]) as aud:
        aud.post("/auth/totp")
    with _admin(secured) as admin:
        admin.delete(f"/users/{made['id']}")
        entries = admin.get("/audit", params={"limit": 100}).json()
    seen = {(e["actor"], e["action"], e["outcome"]) for e in entries}
    assert ("api-key-1", "create_user", "success") in seen
    assert ("user:aud", "issue_token", "success") in seen
    assert ("user:aud", "authenticate", "denied") in seen
    assert ("user:aud", "enroll_totp", "success") in seen
    assert ("api-key-1", "delete_user", "success") in seen


def test_a_user_vouched_for_elsewhere_gets_tokens_without_a_password(
    secured: LiveServer,
) -> None:
    """What single sign-on calls once the identity provider said who it is."""
    services = secured.services

    async def sign_on() -> dict[str, object]:
        user = await services.users.provision("sso-sam", Role.EDITOR)
        again = await services.users.provision("sso-sam", Role.EDITOR)
        assert again == user
        return (await services.tokens.issue_for(user)).to_json()

    pair = asyncio.run_coroutine_threadsafe(sign_on(), secured.loop).result(timeout=10)
    with _bearer(secured, str(pair["access_token"])) as sam:
        assert sam.get("/auth/me").json()["name"] == "user:sso-sam"
        assert sam.post("/models", json=MODEL).status_code == 201
    assert _refresh(secured, str(pair["refresh_token"])).status_code == 200
    for password in ("", "!", PASSWORD):
        refused = httpx.post(
            f"{secured.api}/auth/token", json={"username": "sso-sam", "password": password}
        )
        assert refused.status_code == 401
