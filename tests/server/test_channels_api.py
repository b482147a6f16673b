"""`/api/v1/channels`, `/routes` and `/silences` over HTTP: CRUD, secrets, test sends."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitorx.core import FakeClock
from tests.http_receiver import HttpReceiver
from tests.server.notify_helpers import START, notifying_server, route, webhook

SECRET = "s3cr3t-signing-key"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    with notifying_server(tmp_path, FakeClock(START)) as (_, client):
        yield client


def test_a_channel_round_trip_never_shows_or_loses_its_secret(
    api: httpx.Client, receiver: HttpReceiver
) -> None:
    headers = {"Authorization": "Bearer tok-123", "X-Team": "ml"}
    config = {"url": receiver.url(), "secret": SECRET, "headers": headers}
    created = webhook(api, "ops-hook", receiver.url(), config=config)
    shown = api.get("/channels/ops-hook").json()
    assert shown == created
    assert SECRET not in str(shown) and "tok-123" not in str(shown)
    assert shown["config"]["secret"] == "<secret>"
    assert shown["config"]["headers"] == {"Authorization": "<secret>", "X-Team": "ml"}
    assert shown["send_resolved"] is True and shown["enabled"] is True
    # Send the redacted view back with one change: the secrets stay what they were.
    shown["config"]["method"] = "PUT"
    assert api.put("/channels/ops-hook", json=shown).status_code == 200
    assert api.post("/channels/ops-hook/test").status_code == 200
    (request,) = receiver.wait_for(1)
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Bearer tok-123"
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-MonitorX-Signature"] == f"sha256={expected}"
    assert request.json()["alerts"][0]["labels"]["alertname"] == "test"


def test_channel_crud_status_codes(api: httpx.Client, receiver: HttpReceiver) -> None:
    webhook(api, "a", receiver.url())
    body = {"id": "a", "type": "webhook", "config": {"url": receiver.url("/other")}}
    again = api.post("/channels", json=body)
    assert again.status_code == 409
    body = {"type": "slack", "config": {"url": "https://hooks.slack.com/services/T/B/X"}}
    assert api.put("/channels/b", json=body).status_code == 201
    assert [c["id"] for c in api.get("/channels").json()] == ["a", "b"]
    assert api.get("/channels/b").json()["send_resolved"] is False  # Alertmanager's default
    assert api.delete("/channels/b").status_code == 204
    assert api.get("/channels/b").status_code == 404
    assert api.delete("/channels/b").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "x", "type": "carrier-pigeon", "config": {}}, "type"),
        ({"id": "x", "type": "webhook", "config": {}}, "config.url"),
        ({"id": "x", "type": "webhook", "config": {"url": "ftp://h/x"}}, "config.url"),
        (
            {"id": "x", "type": "webhook", "config": {"url": "http://h", "method": "GET"}},
            "config.method",
        ),
        ({"id": "bad id!", "type": "webhook", "config": {"url": "http://h"}}, "id"),
        ({"type": "webhook", "config": {"url": "http://h"}}, "id"),
        ({"id": "x", "type": "webhook", "config": {"url": "http://h"}, "colour": 1}, "colour"),
        (
            {"id": "x", "type": "pagerduty", "config": {"routing_key": "short"}},
            "config.routing_key",
        ),
        ({"id": "x", "type": "email", "config": {"to": ["a@b.c"]}}, "config.host"),
        (
            {"id": "x", "type": "webhook", "config": {"url": "http://h"}, "rate_limit": {"max": 0}},
            "rate_limit.max",
        ),
        ({"id": "x", "type": "webhook", "config": {"url": "http://h", "secret": "<secret>"}}, None),
    ],
)
def test_bad_channels_get_a_422_naming_the_field(
    api: httpx.Client, body: dict[str, object], field: str | None
) -> None:
    response = api.post("/channels", json=body)
    assert response.status_code == 422, response.text
    if field is not None:
        assert field in {e["field"] for e in response.json()["errors"]}, response.text
    assert api.get("/channels").json() == []


def test_malformed_json_is_a_400(api: httpx.Client) -> None:
    response = api.post("/channels", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_a_test_send_to_a_failing_receiver_is_a_502_with_its_answer(
    api: httpx.Client, receiver: HttpReceiver, down_url: str
) -> None:
    webhook(api, "flaky", receiver.url())
    receiver.answer(500, "database on fire")
    response = api.post("/channels/flaky/test")
    assert response.status_code == 502
    assert "500" in response.json()["detail"] and "database on fire" in response.json()["detail"]
    webhook(api, "gone", down_url)
    response = api.post("/channels/gone/test")
    assert response.status_code == 502
    assert "unreachable" in response.json()["detail"]
    assert api.post("/channels/nope/test").status_code == 404


def test_routes_name_existing_channels_and_keep_them(
    api: httpx.Client, receiver: HttpReceiver
) -> None:
    response = api.post("/routes", json={"id": "r", "channels": ["missing"]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "channels"
    webhook(api, "hook", receiver.url())
    route(api, "critical", ["hook"], matchers={"severity": "critical"}, group_by=["model_id"])
    route(api, "rest", ["hook"])
    shown = api.get("/routes/critical").json()
    assert shown["matchers"] == {"severity": "critical"}
    assert (shown["group_interval"], shown["repeat_interval"], shown["continue"]) == (
        "5m",
        "4h",
        False,
    )
    assert [r["id"] for r in api.get("/routes").json()] == ["critical", "rest"]
    assert api.post("/routes", json={"id": "rest", "channels": ["hook"]}).status_code == 409
    deleting = api.delete("/channels/hook")
    assert deleting.status_code == 409 and "critical" in deleting.json()["detail"]
    assert api.delete("/routes/critical").status_code == 204
    assert api.delete("/routes/rest").status_code == 204
    assert api.delete("/channels/hook").status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "r", "channels": []}, "channels"),
        ({"id": "r", "channels": ["h"], "group_wait": "soon"}, "group_wait"),
        ({"id": "r", "channels": ["h"], "repeat_interval": 0}, "repeat_interval"),
        ({"id": "r", "channels": ["h"], "matchers": ['model_id=~"("']}, "model_id"),
        ({"id": "r", "channels": ["h"], "group_by": "model_id"}, "group_by"),
        ({"id": "r", "channels": ["h"], "escalate": [{"after": "5m"}]}, "escalate[0]"),
    ],
)
def test_bad_routes_get_a_422_naming_the_field(
    api: httpx.Client, receiver: HttpReceiver, body: dict[str, object], field: str
) -> None:
    webhook(api, "h", receiver.url())
    response = api.post("/routes", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_silences_are_created_listed_and_expired(tmp_path: Path) -> None:
    clock = FakeClock(START)
    with notifying_server(tmp_path, clock) as (_, api):
        body = {
            "matchers": {"model_id": "fraud-v3"},
            "duration": "2h",
            "created_by": "ana",
            "comment": "retraining",
        }
        created = api.post("/silences", json=body)
        assert created.status_code == 201, created.text
        silence = created.json()
        assert silence["state"] == "active"
        assert silence["matchers"] == [{"name": "model_id", "value": "fraud-v3", "op": "="}]
        assert silence["ends_at"] == "2026-03-02T11:00:00+00:00"
        later = {**body, "starts_at": "2026-03-02T12:00:00Z", "ends_at": "2026-03-02T13:00:00Z"}
        del later["duration"]
        assert api.post("/silences", json=later).json()["state"] == "pending"
        assert len(api.get("/silences", params={"state": "active"}).json()) == 1
        expired = api.delete(f"/silences/{silence['id']}").json()
        assert expired["state"] == "expired"
        assert expired["ends_at"] == "2026-03-02T09:00:00+00:00"
        assert api.get("/silences", params={"state": "active"}).json() == []
        assert len(api.get("/silences").json()) == 2
        assert api.get(f"/silences/{silence['id']}").json()["state"] == "expired"
        assert api.delete("/silences/unknown").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"matchers": {"model_id": ""}, "duration": "1h"}, "matchers"),
        ({"matchers": {"model_id": "m"}, "created_by": "a", "comment": "c"}, "ends_at"),
        ({"matchers": {"model_id": "m"}, "duration": "1h", "comment": "c"}, "created_by"),
        (
            {"matchers": {"model_id": "m"}, "ends_at": "2020-01-01T00:00:00Z", "created_by": "a"},
            "ends_at",
        ),
        ({"matchers": 5, "duration": "1h", "created_by": "a", "comment": "c"}, "matchers"),
    ],
)
def test_bad_silences_get_a_422_naming_the_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    body = {"created_by": "a", "comment": "c", **body} if field != "created_by" else body
    response = api.post("/silences", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
