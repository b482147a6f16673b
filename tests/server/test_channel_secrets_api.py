"""Channel secrets through the API, on whichever backend the tests run on
(``MONITORX_TEST_BACKEND``): stored sealed, never shown, kept by a GET → PUT round
trip, and delivered decrypted to real local receivers (HTTP and SMTP)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitorx.store import open_storage
from monitorx.store.secret_keys import SecretKeyRing
from tests.conftest import LiveServer, make_settings, run_server
from tests.http_receiver import HttpReceiver
from tests.server.secret_channels import (
    BEARER_TOKEN,
    HMAC_SECRET,
    HOOK_TOKEN,
    ROUTING_KEY,
    SLACK_TOKEN,
    SMTP_PASSWORD,
    SMTP_USER,
    TEAMS_SIG,
    Inbox,
    assert_no_secret,
    channel_bodies,
    smtp_server,
)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as found:
        yield found


def stored_channels(server: LiveServer) -> dict[str, dict[str, Any]]:
    """The channel documents as the server's store holds them."""
    found = server.on_loop(server.services.storage.list_documents("channel"))
    return {key: json.loads(body) for key, body in found}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(make_settings(tmp_path / "data")) as live:
        yield live


def test_every_channel_type_is_stored_sealed_shown_redacted_and_delivers_decrypted(
    server: LiveServer, receiver: HttpReceiver, smtp: tuple[Inbox, int]
) -> None:
    inbox, smtp_port = smtp
    with httpx.Client(base_url=server.api, timeout=30) as api:
        for body in channel_bodies(receiver, smtp_port):
            created = api.post("/channels", json=body)
            assert created.status_code == 201, created.text
            assert_no_secret(created.text)
        listing = api.get("/channels")
        assert_no_secret(listing.text)
        assert "<secret>" in listing.text
        shown = {c["id"]: c["config"] for c in listing.json()}
        assert shown["hook"]["url"] == receiver.url("/hooks/<secret>")
        assert shown["mail"]["password"] == "<secret>" and shown["mail"]["username"] == SMTP_USER

        stored = stored_channels(server)
        assert set(stored) == {"hook", "slack", "teams", "pager", "mail"}
        assert_no_secret(json.dumps(stored))
        assert all("config" not in document for document in stored.values())
        assert len({SecretKeyRing.key_id_of(d["sealed_config"]) for d in stored.values()}) == 1

        for channel_id in ("hook", "slack", "teams", "pager", "mail"):
            sent = api.post(f"/channels/{channel_id}/test")
            assert sent.status_code == 200, sent.text
    by_path = {r.path.split("?")[0]: r for r in receiver.wait_for(4)}
    hook = by_path[f"/hooks/{HOOK_TOKEN}"]
    assert hook.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
    signature = hmac.new(HMAC_SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-MonitorX-Signature"] == f"sha256={signature}"
    assert f"/services/T1/B2/{SLACK_TOKEN}" in by_path
    assert any(r.path.endswith(f"sig={TEAMS_SIG}") for r in receiver.requests)
    assert by_path["/v2/enqueue"].json()["routing_key"] == ROUTING_KEY
    assert inbox.logins == [(SMTP_USER.encode(), SMTP_PASSWORD.encode())]  # decrypted
    assert len(inbox.envelopes) == 1


def test_a_get_put_round_trip_keeps_secrets_in_urls_and_fields(
    server: LiveServer, receiver: HttpReceiver, smtp: tuple[Inbox, int]
) -> None:
    with httpx.Client(base_url=server.api, timeout=30) as api:
        for body in channel_bodies(receiver, smtp[1]):
            assert api.post("/channels", json=body).status_code == 201
        before = stored_channels(server)
        for shown in api.get("/channels").json():
            shown["enabled"] = False  # one real change beside the redacted secrets
            replaced = api.put(f"/channels/{shown['id']}", json=shown)
            assert replaced.status_code == 200, replaced.text
        after = stored_channels(server)
        assert all(d["enabled"] is False for d in after.values())
        # Sealed again (a fresh IV), to the same configs.
        assert all(after[c]["sealed_config"] != before[c]["sealed_config"] for c in after)
        for channel_id in ("hook", "slack", "pager"):
            assert api.post(f"/channels/{channel_id}/test").status_code == 200
        # A URL with the marker that is not the one shown is refused, not stored.
        other = {"id": "slack", "type": "slack", "config": {"url": "https://evil.example/<secret>"}}
        refused = api.put("/channels/slack", json=other)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "config.url"
    paths = [r.path for r in receiver.wait_for(3)]
    assert f"/hooks/{HOOK_TOKEN}" in paths and f"/services/T1/B2/{SLACK_TOKEN}" in paths
    (hook,) = [r for r in receiver.requests if r.path == f"/hooks/{HOOK_TOKEN}"]
    assert hook.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
    assert "X-MonitorX-Signature" in hook.headers


def test_channels_stored_in_plaintext_by_an_earlier_version_keep_working_and_get_sealed(
    tmp_path: Path, receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path / "data")
    legacy = {
        "id": "old-hook",
        "type": "webhook",
        "config": {"url": receiver.url(f"/hooks/{HOOK_TOKEN}"), "secret": HMAC_SECRET},
        "send_resolved": True,
        "enabled": True,
    }
    store = open_storage(settings.resolved_storage_url(), data_dir=settings.data_dir)

    async def write_legacy() -> None:
        await store.open()
        try:
            await store.put_document("channel", "old-hook", json.dumps(legacy))
        finally:
            await store.close()

    asyncio.run(write_legacy())
    with run_server(settings) as live, httpx.Client(base_url=live.api, timeout=30) as api:
        stored = stored_channels(live)["old-hook"]
        assert "config" not in stored and HMAC_SECRET not in json.dumps(stored)
        assert api.get("/channels/old-hook").json()["config"]["secret"] == "<secret>"
        assert api.post("/channels/old-hook/test").status_code == 200
    (warning,) = [r for r in caplog.records if "stored in plaintext" in r.getMessage()]
    assert warning.levelname == "WARNING" and "1 channel(s)" in warning.getMessage()
    (request,) = receiver.wait_for(1)
    assert request.path == f"/hooks/{HOOK_TOKEN}"
    signature = hmac.new(HMAC_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-MonitorX-Signature"] == f"sha256={signature}"
