"""Single sign-on pages: ``/auth/oidc/login`` sends the browser to the OpenID
provider, ``/auth/oidc/callback`` takes it back and signs the dashboard in, and
``/auth/oidc/config`` tells the login page whether to offer SSO. All public.

The session reaches the dashboard in the body of the callback's answer, never in a
URL (which would land in access logs, history and Referer headers): a small page
that carries the token pair in a ``data-`` attribute and loads ``/static/sso.js``, which
keeps it in sessionStorage as the login page keeps a key (the CSP allows no inline
script), then goes on to the page that asked. The answer is ``no-store``.

A refused sign-in is an HTML page with a 4xx status saying why (502 when the
provider cannot be reached); every sign-in, let in or refused, is in the audit log
as ``sso_login``.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from monitorx.core import NotFound, Unauthorized
from monitorx.server.audit_trail import AuditTrail
from monitorx.server.deps import AuditDep, SsoDep, TokensDep, UsersDep
from monitorx.server.sso import SsoIdentity, SsoRefused, sso_username
from monitorx.server.tokens import TokenPair, TokenService
from monitorx.server.users import UserDirectory

if TYPE_CHECKING:  # authlib is imported only where SSO is configured (assembly)
    from monitorx.server.oidc import OidcLogin

router = APIRouter(include_in_schema=False)
AUDIT_ACTION = "sso_login"
LOGIN_PATH = "/auth/oidc/login"
_HTML = "text/html; charset=utf-8"
_NO_STORE = {"Cache-Control": "no-store"}
# A path on this server: "//host" and "/\\host" would leave it (as login.js checks).
_LOCAL_PATH = re.compile(r"^/(?![/\\])[^\s]*$")

_HANDOFF = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>Signing in · MonitorX</title></head>
<body data-credential="{credential}" data-next="{next}">
<p>Signing in…</p>
<script src="/static/sso.js"></script>
</body></html>
"""
_REFUSED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in failed · MonitorX</title>
<link rel="stylesheet" href="/static/dashboard.css"></head>
<body><main><section class="login">
<h1>Single sign-on failed</h1>
<p role="alert" id="sso-error">{reason}</p>
<p><a href="/login">Back to sign in</a></p>
</section></main></body></html>
"""


def _configured(login: OidcLogin | None) -> OidcLogin:
    if login is None:
        raise NotFound("single sign-on is not configured on this server (MONITORX_OIDC_ISSUER)")
    return login


@router.get("/auth/oidc/config")
async def oidc_config(sso: SsoDep) -> dict[str, object]:
    """Whether the login page offers SSO, and where it starts."""
    return {"enabled": sso is not None, "login_url": LOGIN_PATH if sso is not None else None}


@router.get(LOGIN_PATH)
async def oidc_login(
    request: Request, sso: SsoDep, audit: AuditDep, next_page: str = Query("/", alias="next")
) -> Response:
    """To the provider; back on ``next`` (a path on this server) once signed in."""
    login = _configured(sso)
    try:
        return await login.begin(request, next_page if _LOCAL_PATH.match(next_page) else "/")
    except SsoRefused as refused:
        await _audit(audit, request, refused.actor, refused.status)
        return _refused_page(refused)


@router.get("/auth/oidc/callback")
async def oidc_callback(
    request: Request, sso: SsoDep, audit: AuditDep, users: UsersDep, tokens: TokensDep
) -> Response:
    """The provider's answer: the session handed to the dashboard, or why not."""
    login = _configured(sso)
    try:
        identity, next_path = await login.finish(request)
    except SsoRefused as refused:
        await _audit(audit, request, refused.actor, refused.status)
        response = _refused_page(refused)
    else:
        response = await _signed_in(request, audit, users, tokens, identity, next_path)
    login.forget(response)
    return response


async def _signed_in(
    request: Request,
    audit: AuditTrail,
    users: UserDirectory,
    tokens: TokenService,
    identity: SsoIdentity,
    next_path: str,
) -> Response:
    """The token pair of the identity's user, handed to the dashboard; a disabled
    user, or a password user of that name, is refused (403)."""
    try:
        user = await users.provision(sso_username(identity), identity.role)
        pair = await tokens.issue_for(user)
    except Unauthorized as exc:
        refused = SsoRefused(str(exc), 403, identity.name)
        await _audit(audit, request, refused.actor, refused.status)
        return _refused_page(refused)
    await _audit(audit, request, identity.name, 200)
    return _handoff_page(pair, next_path)


def _handoff_page(pair: TokenPair, next_path: str) -> Response:
    text = _HANDOFF.format(
        credential=html.escape(orjson.dumps(pair.to_json()).decode(), quote=True),
        next=html.escape(next_path if _LOCAL_PATH.match(next_path) else "/", quote=True),
    )
    return Response(text, media_type=_HTML, headers=_NO_STORE)


def _refused_page(refused: SsoRefused) -> Response:
    text = _REFUSED.format(reason=html.escape(f"{refused.reason}."))
    return Response(text, status_code=refused.status, media_type=_HTML, headers=_NO_STORE)


async def _audit(audit: AuditTrail, request: Request, actor: str, status: int) -> None:
    client = request.client
    await audit.record(actor, AUDIT_ACTION, request.url.path, client.host if client else "", status)
