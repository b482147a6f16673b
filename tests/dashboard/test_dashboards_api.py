"""`/api/v1/dashboards`: saved custom dashboards (create, list, replace, delete, validation)."""

from __future__ import annotations

import httpx
import pytest

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
