"""``/docs``: Swagger UI, served with nothing fetched from another host, so that it
works on a machine without internet.

Its script and stylesheet are static files of the installed ``fastapi-offline``
package (swagger-ui-dist 5, refreshed with each of its releases), served under
``/docs/assets/``. The page holds no inline script or style: Swagger UI starts from
``/docs/assets/swagger-init.js``, a file, so a Content-Security-Policy of
``script-src 'self'`` admits it. Every URL on the page is relative, so the docs also
work behind a path prefix. ReDoc (``/redoc``) is not served: its standalone bundle
loads its logo from Redocly's CDN.
"""

from __future__ import annotations

__all__ = ["router"]

import asyncio
import gzip
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import Response

from monitorx.core import NotFound

router = APIRouter(include_in_schema=False)

_VENDOR = "fastapi_offline"
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
_HTML = "text/html; charset=utf-8"

# Swagger UI's start: FastAPI's defaults, the schema found relative to the page.
_SWAGGER_INIT = """\
"use strict";
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

_SWAGGER_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MonitorX API - Swagger UI</title>
<link rel="icon" href="favicon.ico">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/swagger-init.js"></script>
</body>
</html>
"""

# The files under /docs/assets/: the vendor's, by name, and our start script.
_VENDOR_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")


@cache
def _asset(name: str, compressed: bool) -> bytes:
    """An asset's bytes, gzipped for clients that take it; read once per process."""
    if name == "swagger-init.js":
        body = _SWAGGER_INIT.encode()
    else:
        body = (resources.files(_VENDOR) / "static" / name).read_bytes()
    return gzip.compress(body, compresslevel=6) if compressed else body


def _page(text: str) -> Response:
    return Response(text, media_type=_HTML, headers={"Cache-Control": "no-cache"})


@router.get("/docs")
async def swagger_ui() -> Response:
    return _page(_SWAGGER_PAGE)


@router.get("/docs/assets/{name}")
async def asset(name: str, request: Request) -> Response:
    if name not in (*_VENDOR_FILES, "swagger-init.js"):
        raise NotFound(f"no docs asset {name!r}")
    compressed = "gzip" in request.headers.get("accept-encoding", "")
    headers = {"Cache-Control": "max-age=86400", "Vary": "Accept-Encoding"}
    if compressed:
        headers["Content-Encoding"] = "gzip"
    body = await asyncio.to_thread(_asset, name, compressed)  # the first call reads
    return Response(body, media_type=_TYPES[name.rsplit(".", 1)[1]], headers=headers)
