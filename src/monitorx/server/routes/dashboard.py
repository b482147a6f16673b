"""The web dashboard's pages and assets, served by the server itself.

Pages are rendered from ``static/layout.html`` (header, navigation, the time range
and auto-refresh controls) around one body from ``static/pages/``; each page's
script (``static/<page>.js``) reads the REST API and the live WebSocket. The pages
hold no data, so they are served without credentials; their scripts send the key
or token kept in the browser's sessionStorage (the login page puts it there).

``/static/plotly.min.js`` comes from the installed ``plotly`` package: the chart
library is a dependency, not a copy in this repository.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import re
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import Response

from monitorx.core import NotFound

router = APIRouter(include_in_schema=False)
_STATIC = resources.files("monitorx.server") / "static"
_ASSET = re.compile(r"^[a-z][a-z0-9_-]*\.(js|css)$")
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
_HTML = "text/html; charset=utf-8"


@cache
def _plotly_js(compressed: bool) -> bytes:
    """plotly.min.js (4.5 MB), or gzipped (1.4 MB): read and compressed once per process."""
    source = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return gzip.compress(source, compresslevel=6) if compressed else source


def render_page(page: str, title: str, subject: str = "") -> Response:
    """``static/pages/<page>.html`` inside the layout; ``subject`` (a model or
    dashboard id from the path) reaches the script as ``data-subject``."""
    layout = (_STATIC / "layout.html").read_text()
    body = (_STATIC / "pages" / f"{page}.html").read_text()
    text = (
        layout.replace("{{title}}", html.escape(title))
        .replace("{{page}}", page)
        .replace("{{subject}}", html.escape(subject, quote=True))
        .replace("{{body}}", body)
    )
    return Response(text, media_type=_HTML, headers={"Cache-Control": "no-cache"})


@router.get("/")
async def overview() -> Response:
    return render_page("overview", "Overview")


@router.get("/models/{model_id}")
async def model_page(model_id: str) -> Response:
    return render_page("model", model_id, model_id)


@router.get("/alerts")
async def alerts_page() -> Response:
    return render_page("alerts", "Alerts")


@router.get("/compare")
async def compare_page() -> Response:
    return render_page("compare", "Compare models")


@router.get("/explore")
async def explore_page() -> Response:
    return render_page("explore", "Explore")


@router.get("/audit")
async def audit_page() -> Response:
    return render_page("audit", "Audit log")


@router.get("/admin")
async def admin_page() -> Response:
    return render_page("admin", "Keys and users")


@router.get("/dashboards")
async def dashboards_page() -> Response:
    return render_page("dashboards", "Dashboards")


@router.get("/dashboards/{dashboard_id}")
async def dashboard_page(dashboard_id: str) -> Response:
    return render_page("dashboard", dashboard_id, dashboard_id)


@router.get("/login")
async def login_page() -> Response:
    return render_page("login", "Sign in")


@router.get("/static/plotly.min.js")
async def plotly_js(request: Request) -> Response:
    """Gzipped for clients that take it: the largest thing a first page load fetches."""
    compressed = "gzip" in request.headers.get("accept-encoding", "")
    headers = {"Cache-Control": "max-age=86400", "Vary": "Accept-Encoding"}
    if compressed:
        headers["Content-Encoding"] = "gzip"
    body = await asyncio.to_thread(_plotly_js, compressed)  # the first call compresses
    return Response(body, media_type=_TYPES["js"], headers=headers)


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    """The dashboard's own scripts and stylesheet (flat names only, no paths)."""
    match = _ASSET.fullmatch(name)
    target = _STATIC / name
    if match is None or not target.is_file():
        raise NotFound(f"no dashboard asset {name!r}")
    headers = {"Cache-Control": "no-cache"}
    return Response(target.read_bytes(), media_type=_TYPES[match.group(1)], headers=headers)


@router.get("/favicon.ico")
async def favicon() -> Response:
    icon = (_STATIC / "favicon.ico").read_bytes()
    return Response(icon, media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})
