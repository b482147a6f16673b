"""Who is calling: API keys (from the settings, and from the store: `KeyRing`) and
HS256 JWTs.

A key is accepted as ``X-API-Key: <key>``, as ``Authorization: Bearer <key>`` (what
Prometheus' scrapers and remote_write and OTLP exporters send) and as ``Authorization: Token
<key>`` (InfluxDB 2 clients and Telegraf). A bearer credential that is not a key is
read as a user's access token (`server.tokens`, from ``POST /api/v1/auth/token``),
else as a JWT signed with ``MONITORX_JWT_SECRET`` by a system of your own
(``Authorization: Bearer <jwt>``).

Each caller acts in one project (docs/security.md#projects): a stored key's, a
token's ``project`` claim, else the server's own (``MONITORX_PROJECT_ID``), which
the keys of the settings belong to. Each caller has one of the roles of
`monitorx.core.access` (``ingest``, ``viewer``, ``editor``, ``admin``); what a
route needs is `monitorx.server.permissions`' to say.
The roles of earlier releases are still read (``read`` is ``viewer``, ``write`` is
``ingest``), with a warning. With auth disabled every caller is an admin.

A request is authenticated once: the outcome is kept in its ASGI scope, so the rate
limiter (which counts a request against its key), the fast ingest path and the
route's dependency all read the same answer.
"""

from __future__ import annotations

__all__ = ["Authenticator", "BearerTokens", "Principal"]

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import jwt
from starlette.requests import HTTPConnection
from starlette.types import Scope

from monitorx.core import Forbidden, Unauthorized, ValidationError
from monitorx.core.access import ROLE_PERMISSIONS, Permission, Role, parse_role
from monitorx.core.identifiers import check_identifier
from monitorx.server.keys import KeyRing

logger = logging.getLogger("monitorx.auth")

DEFAULT_PROJECT = "default"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    project: str = DEFAULT_PROJECT
    user_id: str | None = None
    """The user's id, for a caller with a user's access token."""


class BearerTokens(Protocol):
    """The access tokens users log in for (`server.tokens`)."""

    def principal_of(self, token: str) -> Principal | None:
        """The caller ``token`` names; None when it is no such token; `Unauthorized`
        when it is one but not valid."""


_ANONYMOUS_ADMIN = Principal("anonymous", Role.ADMIN)
# Where a request's scope keeps who it is (a Principal) or why not (Unauthorized).
_IDENTITY = "monitorx.identity"


def _key_role(text: str, index: int) -> Role:
    role, legacy = parse_role(text, "api_keys")
    if legacy:
        logger.warning(
            "API key %d has the role %r of earlier releases, read as %r; name one of "
            "ingest, viewer, editor, admin in MONITORX_API_KEYS",
            index,
            text,
            role.value,
        )
    return role


class Authenticator:
    def __init__(
        self,
        enabled: bool,
        api_keys: list[str],
        jwt_secret: str | None,
        keyring: KeyRing | None = None,
        tokens: BearerTokens | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> None:
        """``api_keys``: those of the settings, of ``project``; ``keyring``: those of
        the store, each of its own project; ``tokens``: the access tokens of users."""
        self.enabled = enabled
        self.project = project
        self._keyring = keyring
        self._tokens = tokens
        self._keys: list[tuple[bytes, Principal]] = []
        for index, entry in enumerate(api_keys):
            key, sep, role = entry.partition(":")
            principal = Principal(
                f"api-key-{index + 1}", _key_role(role, index + 1) if sep else Role.ADMIN, project
            )
            self._keys.append((key.encode(), principal))
        self._jwt_secret = jwt_secret
        self._project = project

    def authenticate(self, conn: HTTPConnection) -> Principal:
        """The caller of ``conn``; `Unauthorized` when it names none. Worked out on the
        first call for a request and kept in its scope for the later ones."""
        found = self._identity(conn)
        if isinstance(found, Unauthorized):
            raise found
        return found

    def identify(self, scope: Scope) -> Principal | None:
        """The authenticated caller of the request ``scope`` describes; None when it
        sent no credential this server accepts, or auth is off (then nobody is
        identified). Never raises: the route that needs a caller refuses the request."""
        if not self.enabled:
            return None
        found = self._identity(HTTPConnection(scope))
        return None if isinstance(found, Unauthorized) else found

    def _identity(self, conn: HTTPConnection) -> Principal | Unauthorized:
        found: Principal | Unauthorized | None = conn.scope.get(_IDENTITY)
        if found is None:
            try:
                found = self.authenticate_headers(conn.headers)
            except Unauthorized as exc:
                found = exc
            conn.scope[_IDENTITY] = found
        return found

    def authenticate_headers(self, headers: Mapping[str, str]) -> Principal:
        """The caller named by ``headers`` (lower-case names: HTTP headers, or the
        metadata of a gRPC call); `Unauthorized` when none is."""
        if not self.enabled:
            return _ANONYMOUS_ADMIN
        key = headers.get("x-api-key")
        if key is not None:
            return self._by_key(key)
        authorization = headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        scheme, credential = scheme.lower(), credential.strip()
        if scheme == "token" and credential:
            return self._by_key(credential)
        if scheme == "bearer" and credential:
            principal = self._known_key(credential)
            if principal is not None:
                return principal
            if self._tokens is not None:
                principal = self._tokens.principal_of(credential)
                if principal is not None:
                    return principal
            if self._jwt_secret is None:
                raise Unauthorized("invalid API key")
            return self._by_jwt(credential)
        raise Unauthorized(
            "authentication required: send X-API-Key, Authorization: Bearer or Authorization: Token"
        )

    def _known_key(self, key: str) -> Principal | None:
        given = key.encode()
        found = None
        # Every key is compared, so the time taken does not tell which one matched.
        for known, principal in self._keys:
            if hmac.compare_digest(given, known):
                found = principal
        if found is None and self._keyring is not None:
            record = self._keyring.match(key)
            if record is not None:
                found = Principal(f"key:{record.id}", record.role, record.project)
        return found

    def _by_key(self, key: str) -> Principal:
        principal = self._known_key(key)
        if principal is None:
            raise Unauthorized("invalid API key")
        return principal

    def _by_jwt(self, token: str) -> Principal:
        if self._jwt_secret is None:
            raise Unauthorized("bearer tokens are not enabled on this server")
        try:
            claims = jwt.decode(token, self._jwt_secret, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        try:
            role, _ = parse_role(str(claims.get("role", Role.VIEWER.value)))
            project = check_identifier(str(claims.get("project", self.project)), "project")
        except ValidationError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        return Principal(str(claims.get("sub", "jwt")), role, project)

    @staticmethod
    def require(principal: Principal, permission: Permission) -> None:
        """`Forbidden` unless the principal's role grants ``permission``."""
        if not principal.role.grants(permission):
            roles = [r.value for r in Role if permission in ROLE_PERMISSIONS[r]]
            raise Forbidden(
                f"this needs the {permission.value} permission (role {' or '.join(roles)}); "
                f"{principal.name} has the role {principal.role.value}"
            )
