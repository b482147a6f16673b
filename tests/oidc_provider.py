"""A small, real OpenID provider on 127.0.0.1, in a thread, for the SSO tests.

It serves what a relying party reads: the discovery document, a JWKS with one RSA
key, ``/authorize`` (which approves the configured test user at once and sends the
browser back with a code and the state), ``/token`` (client authentication, the
code's redirect URI and its PKCE ``S256`` verifier all checked; an RS256 ID token
carrying the nonce) and ``/userinfo``.

A test makes it misbehave on purpose: ``id_token_claims`` overrides claims of the
next ID tokens (a wrong ``aud``, ``nonce`` or ``exp``), ``sign_with`` signs them
with a key the JWKS does not hold, ``deny`` answers ``/authorize`` with an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "monitorx-test"
CLIENT_SECRET = "client-secret-of-the-test-provider"
KEY_ID = "test-key-1"


@dataclass
class OidcProvider:
    """The provider's state: its registered client, its user, what it issued."""

    url: str = ""
    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "u-1001",
            "email": "ana@example.com",
            "email_verified": True,
            "name": "Ana Lima",
            "groups": ["ml-team"],
        }
    )
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": KEY_ID}))
    sign_with: RSAKey | None = None
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    deny: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued_codes: list[str] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    token_requests: int = 0

    @property
    def issuer(self) -> str:
        return self.url

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """The redirect ``/authorize`` answers: (status, Location or error text)."""
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect:
            return 400, "unknown client or no redirect_uri"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return 400, "only the openid code flow"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, "PKCE S256 required"
        state = query.get("state", "")
        if self.deny:
            return 302, f"{redirect}?{urlencode({'error': self.deny, 'state': state})}"
        code = secrets.token_urlsafe(24)
        self.issued_codes.append(code)
        self.codes[code] = {
            "redirect_uri": redirect,
            "challenge": query["code_challenge"],
            "nonce": query.get("nonce"),
        }
        return 302, f"{redirect}?{urlencode({'code': code, 'state': state})}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        access = secrets.token_urlsafe(24)
        self.access_tokens.add(access)
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(grant["nonce"]),
        }

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300, **self.user}
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(self.id_token_claims)
        key = self.sign_with or self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows failures, not request lines

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif parts.path == "/jwks":
                self._json(200, provider.jwks())
            elif parts.path == "/authorize":
                status, target = provider.authorize(query)
                if status != 302:
                    self._json(status, {"error": target})
                    return
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if token not in provider.access_tokens:
                    self._json(401, {"error": "invalid_token"})
                else:
                    self._json(200, provider.user)
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            status, body = provider.token(form, self.headers.get("Authorization", ""))
            self._json(status, body)

    return Handler


@contextmanager
def run_oidc_provider() -> Iterator[OidcProvider]:
    """A provider on a free port of 127.0.0.1 until the block ends."""
    provider = OidcProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
