"""docs/api.md against the app's OpenAPI schema, both ways, so neither can drift:
every operation the server has is a row of the reference with the success codes the
schema declares, and every row names an operation the server has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from monitorx.server.app import create_app
from monitorx.server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "api.md"
# A table row whose first cell is `METHOD /path`, then the success cell (in which
# a pipe is escaped as \|).
_ROW = re.compile(
    r"^\| `(?P<method>[A-Z]+) (?P<path>/[^`\s]*)` \| (?P<success>(?:\\\||[^|])*?) \|", re.M
)
_SUCCESS = re.compile(r"\b(2\d\d)\b")

Operation = tuple[str, str]  # method, path with its parameters as {}


def _shape(path: str) -> str:
    """Parameter names differ (`{id}` here, `{model_id}` in the schema): compare shapes."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _documented() -> dict[Operation, set[str]]:
    rows: dict[Operation, set[str]] = {}
    for row in _ROW.finditer(REFERENCE.read_text()):
        operation = (row["method"], _shape(row["path"]))
        assert operation not in rows, f"{operation} is documented twice"
        rows[operation] = set(_SUCCESS.findall(row["success"]))
    return rows


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("reference"), auth_enabled=True))


def _in_schema(app: FastAPI) -> dict[Operation, set[str]]:
    return {
        (method.upper(), _shape(path)): {code for code in operation["responses"] if code[0] == "2"}
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    }


def _outside_schema(app: FastAPI) -> set[Operation]:
    """Routes the schema leaves out: pages, assets, the schema itself, the WebSocket
    (its handshake is a GET)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.13x keeps every route flat in app.routes
        found = [(r, getattr(r, "path", ""), getattr(r, "methods", None)) for r in app.routes]
    else:
        found = [(c.original_route, c.path, c.methods) for c in iter_route_contexts(app.routes)]
    operations = set()
    for route, path, methods in found:
        if getattr(route, "include_in_schema", True) and methods is not None:
            continue  # in the schema
        for method in methods or {"GET"}:
            if method != "HEAD":
                operations.add((method, _shape(path)))
    return operations


def test_every_operation_of_the_schema_is_documented_with_its_success_codes(
    app: FastAPI,
) -> None:
    documented = _documented()
    schema = _in_schema(app)
    assert len(schema) > 50 and len(documented) > 50
    missing = sorted(set(schema) - set(documented))
    assert missing == [], f"not in docs/api.md: {missing}"
    wrong = {op: (documented[op], codes) for op, codes in schema.items() if documented[op] != codes}
    assert wrong == {}, "success codes (docs/api.md, schema) differ"


def test_every_route_outside_the_schema_is_documented(app: FastAPI) -> None:
    outside = _outside_schema(app)
    assert ("GET", "/api/v1/ws") in outside and ("GET", "/docs") in outside
    missing = sorted(outside - set(_documented()))
    assert missing == [], f"not in docs/api.md: {missing}"


def test_everything_documented_exists(app: FastAPI) -> None:
    served = set(_in_schema(app)) | _outside_schema(app)
    invented = sorted(set(_documented()) - served)
    assert invented == [], f"docs/api.md documents what the server does not serve: {invented}"
