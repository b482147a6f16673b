"""`/api/v1/auth`: users log in for tokens, refresh and revoke them, and enrol a
TOTP second factor (docs/security.md#users-and-tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from monitorx.core import Forbidden, Unauthorized, ValidationError
from monitorx.core.access import Role
from monitorx.server.audit_trail import PRINCIPAL_STATE
from monitorx.server.auth import Principal
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import StorageDep, TokensDep, UsersDep, authorize
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse

router = APIRouter(prefix="/auth", tags=["auth"])

# Longer credentials than these are no credentials: refused as any wrong one is.
_MAX_CREDENTIAL = 4096
_BAD_CREDENTIALS = "invalid credentials: send {username, password, totp?} or {refresh_token}"


class TokenOut(BaseModel):
    """A login's or a refresh's answer (API.md)."""

    access_token: str = Field(description="a JWT for `Authorization: Bearer`")
    refresh_token: str = Field(description="opaque, single use: spend it for the next pair")
    token_type: str = Field(description="always `bearer`")
    expires_in: int = Field(description="seconds the access token lasts")


class WhoAmIOut(BaseModel):
    """Who the credential of the request is (the dashboard shows it in its header)."""

    name: str = Field(description="`user:<username>`, `key:<id>`, `api-key-<n>` or `anonymous`")
    role: str
    project: str
    user_id: str | None = Field(description="the user's id, for a user's token")


class TotpEnrolmentOut(BaseModel):
    """A pending TOTP secret: give it to an authenticator app, then confirm a code."""

    secret: str = Field(description="base32, for typing in")
    uri: str = Field(description="`otpauth://totp/...`, for a QR code")


def _text(body: dict[str, object], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_CREDENTIAL:
        raise Unauthorized(_BAD_CREDENTIALS)
    return value


def _name_actor(request: Request, name: str, role: Role) -> None:
    """Who the audit trail names for this request (the route needs no credential)."""
    setattr(request.state, PRINCIPAL_STATE, Principal(name, role))


@router.post(
    "/token",
    response_model=TokenOut,
    responses={**ERROR_RESPONSES, 401: {"description": "invalid credentials"}},
)
async def issue_token(request: Request, tokens: TokensDep) -> JSONResponse:
    """Log in with ``{"username", "password", "totp"?}`` (``totp`` once the user has
    turned TOTP on), or spend ``{"refresh_token"}`` for the next pair. Anything
    else is 401, which never says whether the username exists."""
    body = await read_checked_json(request)
    if not isinstance(body, dict):
        raise Unauthorized(_BAD_CREDENTIALS)
    refresh_token = _text(body, "refresh_token")
    username, password = _text(body, "username"), _text(body, "password")
    if refresh_token is not None:
        pair, user = await tokens.refresh(refresh_token)
        _name_actor(request, f"user:{user.username}", user.role)
        return JSONResponse(pair.to_json())
    if username is None or password is None:
        raise Unauthorized(_BAD_CREDENTIALS)
    # Named before the check, so that a failed login is recorded against the name tried.
    _name_actor(request, f"user:{username}", Role.VIEWER)
    pair = await tokens.login(username, password, _text(body, "totp"))
    return JSONResponse(pair.to_json())


@router.post("/revoke", status_code=204, responses=ERROR_RESPONSES)
async def revoke_token(request: Request, tokens: TokensDep) -> Response:
    """Log out: ``{"refresh_token"}`` and every token of its family stop working.
    A token the server does not know is 204 as well."""
    body = await read_checked_json(request)
    token = body.get("refresh_token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        raise ValidationError("is required", "refresh_token")
    await tokens.revoke(token)
    return Response(status_code=204)


Caller = Annotated[Principal | None, Depends(authorize)]


def _user_id(principal: Principal | None) -> str:
    # `authorize` lets only users through (`permissions.USER_ROUTES`).
    if principal is None or principal.user_id is None:
        raise Forbidden("only a user logged in with a password has a second factor")
    return principal.user_id


@router.get("/me", response_model=WhoAmIOut)
async def whoami(caller: Caller, storage: StorageDep) -> JSONResponse:
    """The caller: its name, role and the project it acts in (with auth off, an
    anonymous admin)."""
    principal = caller or Principal("anonymous", Role.ADMIN)
    return JSONResponse(
        {
            "name": principal.name,
            "role": principal.role.value,
            "project": storage.project_id,
            "user_id": principal.user_id,
        }
    )


@router.post("/totp", response_model=TotpEnrolmentOut, responses=ERROR_RESPONSES)
async def enroll_totp(caller: Caller, users: UsersDep) -> JSONResponse:
    """Start TOTP enrolment for the calling user: a new secret, pending until
    ``/auth/totp/confirm`` receives a code it generates. 409 when TOTP is on."""
    secret, uri = await users.begin_totp(_user_id(caller))
    return JSONResponse({"secret": secret, "uri": uri})


@router.post("/totp/confirm", status_code=204, responses=ERROR_RESPONSES)
async def confirm_totp(request: Request, caller: Caller, users: UsersDep) -> Response:
    """``{"code"}``: turn TOTP on. From then on a login needs ``totp``. A wrong code
    is 401 and leaves TOTP off."""
    user_id = _user_id(caller)
    body = await read_checked_json(request)
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not 1 <= len(code) <= 16:
        raise ValidationError("is required: the 6 digits the authenticator shows", "code")
    await users.confirm_totp(user_id, code)
    return Response(status_code=204)
