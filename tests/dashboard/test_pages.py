"""The dashboard's pages and assets are served by the server itself."""

from __future__ import annotations

from importlib import resources

import httpx
import pytest

from tests.conftest import LiveServer


@pytest.mark.parametrize(
    ("path", "script"),
    [
        ("/", "overview.js"),
        ("/models/fraud-v3", "model.js"),
        ("/alerts", "alerts.js"),
        ("/compare", "compare.js"),
        ("/explore", "explore.js"),
        ("/dashboards", "dashboards.js"),
        ("/dashboards/ops", "dashboard.js"),
        ("/login", "login.js"),
        ("/admin", "admin.js"),
    ],
)
def test_each_page_is_html_with_its_script(live_server: LiveServer, path: str, script: str) -> None:
    page = httpx.get(live_server.url + path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'<script src="/static/{script}"></script>' in page.text
    assert httpx.get(f"{live_server.url}/static/{script}").status_code == 200


def test_plotly_comes_from_the_installed_package(live_server: LiveServer) -> None:
    served = httpx.get(f"{live_server.url}/static/plotly.min.js")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    installed = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert served.content == installed


def test_a_model_id_in_the_path_is_escaped(live_server: LiveServer) -> None:
    page = httpx.get(f"{live_server.url}/models/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert page.status_code == 200
    assert "<img src=x" not in page.text
    assert 'data-subject="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in page.text


@pytest.mark.parametrize("name", ["layout.html", "..%2Fapp.py", "missing.js", "Mx.js"])
def test_only_the_dashboards_own_assets_are_served(live_server: LiveServer, name: str) -> None:
    assert httpx.get(f"{live_server.url}/static/{name}").status_code == 404
