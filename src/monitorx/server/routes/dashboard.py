"""``/`` and ``/favicon.ico``: the overview page, served by the server itself."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from starlette.responses import Response

router = APIRouter(include_in_schema=False)
_STATIC = resources.files("monitorx.server") / "static"


@router.get("/")
async def index() -> Response:
    html = (_STATIC / "index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8")


@router.get("/favicon.ico")
async def favicon() -> Response:
    icon = (_STATIC / "favicon.ico").read_bytes()
    return Response(icon, media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})
