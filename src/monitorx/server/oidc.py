"""The OpenID Connect authorization code flow with an OpenID provider (authlib).

`OidcLogin.begin` sends the browser to the provider with ``state``, ``nonce`` and
a PKCE ``S256`` challenge; `OidcLogin.finish` takes the provider's answer back,
exchanges the code (with the verifier and the client secret) for tokens, and has
authlib validate the ID token: its signature against the provider's JWKS, its
issuer, its audience (this client), its expiry and its nonce. The provider is
found through its discovery document, read once, at the first sign-in.

What must survive the trip to the provider (state, nonce, the PKCE verifier, the
page to return to) lives in a cookie of its own: signed (HS256, a key derived from
the access tokens' for this use alone, so it is never a valid bearer token), HttpOnly,
``SameSite=Lax``, scoped to ``/auth/oidc/`` and gone after ten minutes. It binds
the answer to the browser that asked (RFC 6749 §10.12). authlib's Starlette client
keeps these in ``request.session``; the flow hands it that cookie's contents,
rather than putting a session middleware in front of every request.
"""

from __future__ import annotations

__all__ = ["CALLBACK_PATH", "STATE_COOKIE", "OidcLogin"]

import hashlib
import hmac
import logging
import warnings
from datetime import timedelta
from typing import Any

import authlib.deprecate
import httpx
import jwt
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import Response

from monitorx.core import Clock, MonitorXError
from monitorx.server.settings import Settings
from monitorx.server.sso import RoleMapping, SsoIdentity, SsoRefused

# authlib >= 1.9.10 announces, with a filter that always shows it, a move from httpx
# to its fork httpx2; with httpx it works as before. authlib.deprecate (imported
# above) has added that filter; this one goes in front of it, for the import alone.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", authlib.deprecate.AuthlibDeprecationWarning
    )
    from authlib.integrations.starlette_client import OAuth, OAuthError

logger = logging.getLogger("monitorx.sso")

CALLBACK_PATH = "/auth/oidc/callback"
STATE_COOKIE = "monitorx-oidc"
STATE_COOKIE_PATH = "/auth/oidc/"
STATE_TTL_S = 600
"""How long a person may take at the provider before the sign-in must start over."""
PROVIDER_TIMEOUT_S = 10.0
"""How long one request to the provider (discovery, JWKS, token) may take."""
_STATE_PURPOSE = b"monitorx oidc state cookie"
_CLIENT = "monitorx"


class OidcLogin:
    """SSO through the provider the settings name (``oidc_*``)."""

    def __init__(self, settings: Settings, clock: Clock, signing_key: bytes) -> None:
        """``signing_key``: the access tokens' (`load_signing_key`), from which the
        state cookie's key is derived."""
        if not (settings.oidc_issuer and settings.oidc_client_id):
            # Settings refuse this combination; a hand-made one gets the same words.
            raise MonitorXError("SSO needs oidc_issuer and oidc_client_id")
        self._clock = clock
        self._issuer = settings.oidc_issuer
        self._client_id = settings.oidc_client_id
        self._external_url = settings.external_url.rstrip("/")
        self.mapping = RoleMapping.from_settings(settings)
        self._state_key = hmac.new(signing_key, _STATE_PURPOSE, hashlib.sha256).digest()
        client_kwargs: dict[str, Any] = {
            "scope": settings.oidc_scopes,
            "code_challenge_method": "S256",
            "timeout": PROVIDER_TIMEOUT_S,
        }
        client_secret = None
        if settings.oidc_client_secret is None:
            client_kwargs["token_endpoint_auth_method"] = "none"
        else:
            client_secret = settings.oidc_client_secret.get_secret_value()
        self._client: Any = OAuth().register(
            _CLIENT,
            client_id=self._client_id,
            client_secret=client_secret,
            server_metadata_url=f"{self._issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )

    def redirect_uri(self, request: Request) -> str:
        """Where the provider sends the browser back: under ``external_url`` when it
        is set (behind a proxy), else under the URL this request came to."""
        if self._external_url:
            return self._external_url + CALLBACK_PATH
        return str(request.url_for("oidc_callback"))

    async def begin(self, request: Request, next_path: str) -> Response:
        """A redirect to the provider's authorization endpoint, with the state cookie."""
        session: dict[str, Any] = {}
        request.scope["session"] = session
        try:
            response: Response = await self._client.authorize_redirect(
                request, self.redirect_uri(request)
            )
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            raise _unreachable(exc) from None
        session["next"] = next_path
        expires = self._clock.now() + timedelta(seconds=STATE_TTL_S)
        cookie = jwt.encode({"session": session, "exp": expires}, self._state_key, "HS256")
        response.set_cookie(
            STATE_COOKIE,
            cookie,
            max_age=STATE_TTL_S,
            path=STATE_COOKIE_PATH,
            secure=self.redirect_uri(request).startswith("https:"),
            httponly=True,
            samesite="lax",
        )
        return response

    @staticmethod
    def forget(response: Response) -> None:
        """Delete the state cookie: a sign-in's answer is taken once."""
        response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH, httponly=True, samesite="lax")

    async def finish(self, request: Request) -> tuple[SsoIdentity, str]:
        """The identity the provider's answer to ``request`` proves, and the page to
        go to; `SsoRefused` for every way it can fail."""
        cookie = request.cookies.get(STATE_COOKIE)
        if not cookie:
            raise SsoRefused(
                "this sign-in was not started in this browser, or took longer than "
                f"{STATE_TTL_S // 60} minutes: start again"
            )
        try:
            saved = jwt.decode(cookie, self._state_key, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise SsoRefused(
                "this sign-in expired or its cookie was altered: start again"
            ) from None
        session: dict[str, Any] = dict(saved["session"])
        next_path = str(session.pop("next", "/"))
        request.scope["session"] = session
        claims = await self._validated_claims(request)
        return self.mapping.identity(claims), next_path

    async def _validated_claims(self, request: Request) -> dict[str, Any]:
        # authlib checks iss against the discovery document; both are pinned here,
        # and aud to this client alone (by default it settles for a matching azp).
        options = {
            "iss": {"essential": True, "values": [await self._issuer_of_metadata()]},
            "aud": {"essential": True, "values": [self._client_id]},
        }
        try:
            token = await self._client.authorize_access_token(request, claims_options=options)
        except OAuthError as exc:
            if exc.error == "mismatching_state":
                raise SsoRefused(
                    "the provider's answer does not match the sign-in this browser started "
                    "(state mismatch): start again"
                ) from None
            raise SsoRefused(f"the provider refused the sign-in: {_oauth_error(exc)}") from None
        except JoseError as exc:
            raise SsoRefused(
                f"the provider's ID token is not valid: {_jose_error(exc)}", 403
            ) from None
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            raise _unreachable(exc) from None
        userinfo = token.get("userinfo")
        if not userinfo:
            raise SsoRefused("the provider sent no ID token (is the openid scope allowed?)", 403)
        return dict(userinfo)

    async def _issuer_of_metadata(self) -> str:
        """The discovery document's issuer, which must be the configured one
        (OpenID Connect Discovery §4.3), ignoring a trailing slash."""
        try:
            metadata = await self._client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as exc:
            raise _unreachable(exc) from None
        issuer = str(metadata.get("issuer", ""))
        if issuer.rstrip("/") != self._issuer.rstrip("/"):
            raise SsoRefused(
                f"the provider's discovery document names the issuer {issuer!r}, not "
                f"MONITORX_OIDC_ISSUER {self._issuer!r}",
                502,
            )
        return issuer


def _unreachable(exc: Exception) -> SsoRefused:
    # The provider's fault or the network's, not the browser's: 502, as a proxy answers.
    logger.warning("SSO: the OpenID provider did not answer as expected: %s", type(exc).__name__)
    return SsoRefused(
        "the single sign-on provider could not be reached or answered unexpectedly; "
        "try again later",
        502,
    )


def _oauth_error(exc: OAuthError) -> str:
    text = str(exc.error or "error")
    if exc.description:
        text += f" ({str(exc.description)[:200]})"
    return text


def _jose_error(exc: JoseError) -> str:
    return str(getattr(exc, "description", "") or exc.error or type(exc).__name__)
