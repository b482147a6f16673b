"""`/api/v1/dashboards`: saved custom dashboards (create, list, replace, delete,
validation), with panels of models and panels that hold a query of any metric."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from monitorx.server.routes.dashboards import DOCUMENT_KIND
from monitorx.store import open_storage
from tests.conftest import make_settings, run_server

PANEL = {"metric": "latency", "agg": "p95", "models": ["fraud-v3", "fraud-v4"]}


def test_saved_dashboard_is_listed_fetched_replaced_and_deleted(api: httpx.Client) -> None:
    created = api.post("/dashboards", json={"id": "ops", "title": "Ops", "panels": [PANEL]})
    assert created.status_code == 201
    assert created.json() == {
        "id": "ops",
        "title": "Ops",
        "range": "1h",
        "panels": [PANEL | {"title": "latency p95", "range": None}],
    }
    assert api.post("/dashboards", json={"id": "ops"}).status_code == 409
    assert [d["id"] for d in api.get("/dashboards").json()] == ["ops"]
    replaced = api.put("/dashboards/ops", json={"title": "Ops 2", "range": "7d", "panels": []})
    assert replaced.status_code == 200
    assert api.get("/dashboards/ops").json()["title"] == "Ops 2"
    assert api.put("/dashboards/new", json={"panels": []}).status_code == 201
    assert api.delete("/dashboards/ops").status_code == 204
    assert api.get("/dashboards/ops").status_code == 404
    assert api.delete("/dashboards/ops").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "bad id!"}, "id"),
        ({"id": "x", "range": "2h"}, "range"),
        ({"id": "x", "panels": [{"metric": "latency", "models": []}]}, "panels[0].models"),
        ({"id": "x", "panels": [{"metric": "speed", "models": ["m"]}]}, "panels[0].metric"),
        (
            {"id": "x", "panels": [{"metric": "latency", "agg": "p42", "models": ["m"]}]},
            "panels[0].agg",
        ),
        ({"id": "x", "panels": "none"}, "panels"),
        ([1, 2], "body"),
    ],
)
def test_invalid_dashboard_is_422_naming_the_field(
    api: httpx.Client, body: object, field: str
) -> None:
    response = api.post("/dashboards", json=body)
    assert response.status_code == 422
    assert field in response.text


def test_put_with_a_different_body_id_is_422(api: httpx.Client) -> None:
    response = api.put("/dashboards/a", json={"id": "b"})
    assert response.status_code == 422


QUERY_PANEL = {
    "title": "CTR by region",
    "range": "6h",
    "query": {
        "metric": "ranker.ctr",
        "agg": "p90",
        "labels": ["model_id!:ranker-v1", "tier:gold"],
        "group_by": ["region", "model_id"],
    },
}


def test_query_panels_are_stored_beside_model_panels_and_read_back(api: httpx.Client) -> None:
    minimal = {"query": {"metric": "latency"}}
    body = {"id": "mixed", "panels": [PANEL, QUERY_PANEL, minimal]}
    created = api.post("/dashboards", json=body)
    assert created.status_code == 201, created.text
    stored = created.json()
    assert stored["panels"] == [
        PANEL | {"title": "latency p95", "range": None},
        QUERY_PANEL,
        {
            "title": "latency mean",
            "range": None,
            "query": {"metric": "latency", "agg": "mean", "labels": [], "group_by": []},
        },
    ]
    assert api.get("/dashboards/mixed").json() == stored
    assert api.get("/dashboards").json() == [stored]
    # What a client read is what it can write back (the page's editor does so).
    again = api.put("/dashboards/mixed", json=stored)
    assert again.status_code == 200 and again.json() == stored
    titled = api.put(
        "/dashboards/titles",
        json={"panels": [{"query": {"metric": "queue.depth", "agg": "rate", "group_by": ["a"]}}]},
    )
    assert titled.json()["panels"][0]["title"] == "queue.depth rate by a"


@pytest.mark.parametrize(
    ("panel", "field"),
    [
        ({"query": "ranker.ctr"}, "panels[0].query"),
        ({"query": {}}, "panels[0].query.metric"),
        ({"query": {"metric": "9lives"}}, "panels[0].query.metric"),
        ({"query": {"metric": "a b"}}, "panels[0].query.metric"),
        ({"query": {"metric": "ctr", "agg": "p42"}}, "panels[0].query.agg"),
        ({"query": {"metric": "ctr", "labels": "region:eu"}}, "panels[0].query.labels"),
        (
            {"query": {"metric": "ctr", "labels": ["region:eu", "region"]}},
            "panels[0].query.labels[1]",
        ),
        ({"query": {"metric": "ctr", "labels": ["!:eu"]}}, "panels[0].query.labels[0]"),
        ({"query": {"metric": "ctr", "labels": [{"region": "eu"}]}}, "panels[0].query.labels[0]"),
        ({"query": {"metric": "ctr", "group_by": "region"}}, "panels[0].query.group_by"),
        ({"query": {"metric": "ctr", "group_by": ["region", ""]}}, "panels[0].query.group_by[1]"),
        ({"query": {"metric": "ctr", "group_by": ["a,b"]}}, "panels[0].query.group_by[0]"),
        ({"query": {"metric": "ctr", "group_by": ["a", "a"]}}, "panels[0].query.group_by[1]"),
        ({"query": {"metric": "ctr"}, "range": "2h"}, "panels[0].range"),
        ({"query": {"metric": "ctr"}, "title": 7}, "panels[0].title"),
        ({"query": {"metric": "ctr"}, "models": ["m"]}, "panels[0]"),
    ],
)
def test_invalid_query_panel_is_422_naming_the_field(
    api: httpx.Client, panel: dict[str, object], field: str
) -> None:
    response = api.post("/dashboards", json={"id": "x", "panels": [panel]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert api.get("/dashboards/x").status_code == 404  # nothing stored


# A dashboard as stored before query panels existed, byte for byte.
OLD_DOCUMENT = (
    '{"id":"ops","title":"Ops","range":"6h","panels":[{"title":"Worst latency",'
    '"metric":"latency","agg":"max","models":["fraud-v3","fraud-v4"],"range":null}]}'
)


def test_a_dashboard_stored_before_query_panels_reads_and_saves_unchanged(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")

    async def store_old() -> None:
        storage = open_storage(settings.resolved_storage_url(), data_dir=settings.data_dir)
        await storage.open()
        try:
            await storage.put_document(DOCUMENT_KIND, "ops", OLD_DOCUMENT)
        finally:
            await storage.close()

    asyncio.run(store_old())
    with run_server(settings) as server, httpx.Client(base_url=server.api) as api:
        read = api.get("/dashboards/ops")
        assert read.status_code == 200
        assert read.json() == json.loads(OLD_DOCUMENT)
        saved = api.put("/dashboards/ops", json=read.json())
        assert saved.status_code == 200
        assert saved.json() == json.loads(OLD_DOCUMENT)
