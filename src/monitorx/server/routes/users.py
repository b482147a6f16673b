"""`/api/v1/users`: the project's users, for admins (docs/security.md#users-and-tokens).
Never a password or its hash."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from monitorx.core import ValidationError
from monitorx.core.access import parse_role
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import UsersDep
from monitorx.server.openapi import ERROR_RESPONSES
from monitorx.server.responses import JSONResponse

router = APIRouter(prefix="/users", tags=["users"])


class UserOut(BaseModel):
    """A user as listed: never its password, its hash or its TOTP secret."""

    id: str
    project: str
    username: str
    role: str
    created_at: str
    disabled_at: str | None
    totp_enabled: bool


def _string(body: dict[str, object], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str):
        raise ValidationError("is required (a string)", field)
    return value


@router.post(
    "",
    status_code=201,
    response_model=UserOut,
    responses={**ERROR_RESPONSES, 409: {"description": "the username is taken"}},
)
async def create_user(request: Request, users: UsersDep) -> JSONResponse:
    """``{"username", "password", "role": "ingest" | "viewer" | "editor" | "admin"}``;
    the password (8 to 1,024 characters) is kept as an argon2id hash."""
    body = await read_checked_json(request)
    if not isinstance(body, dict):
        raise ValidationError("must be an object", "body")
    role, legacy = parse_role(_string(body, "role"))
    if legacy:
        raise ValidationError("use ingest, viewer, editor or admin", "role")
    record = await users.create(_string(body, "username"), role, _string(body, "password"))
    return JSONResponse(record.to_json(), status_code=201)


@router.get("", response_model=list[UserOut])
async def list_users(users: UsersDep) -> JSONResponse:
    """The project's users, oldest first."""
    return JSONResponse([record.to_json() for record in await users.list()])


@router.delete("/{user_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_user(user_id: str, users: UsersDep) -> Response:
    """Delete a user: its refresh tokens are revoked and its access tokens stop
    working at once (on other replicas within seconds)."""
    await users.delete(user_id)
    return Response(status_code=204)
