"""No channel secret is ever written in plaintext: a test greps the data directory
(the DuckDB file and its WAL, InfluxDB's side file, the key file's neighbours) and
the server's log for every secret, and on PostgreSQL reads every stored row back
with SQL — after `monitorx serve` (debug logging, access log on) created channels
of every type, delivered test and real notifications with the decrypted values,
had a receiver echo secrets in an error, and took a GET → PUT round trip.

A restart on the same store still delivers (the key came back from where it is
kept); a restart with another key refuses to start, naming the channels."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from monitorx.store.secret_keys import generate_secret_key
from tests.backends import POSTGRES_URL, api_backend
from tests.http_receiver import HttpReceiver, wait_until
from tests.server.secret_channels import (
    BEARER_TOKEN,
    HMAC_SECRET,
    HOOK_TOKEN,
    SECRETS,
    SMTP_PASSWORD,
    SMTP_USER,
    Inbox,
    assert_no_secret,
    channel_bodies,
    smtp_server,
)
from tests.system.conftest import ServerProcess, start_server

pytestmark = pytest.mark.system

# Each secret as it could also be written: percent-encoded in a URL, and the SMTP
# password inside AUTH PLAIN's base64.
FORMS = tuple(
    dict.fromkeys(
        [
            *SECRETS,
            *(quote(s, safe="") for s in SECRETS),
            base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()).decode(),
        ]
    )
)
ENV = {"MONITORX_ALERT_TICK_S": "0.05", "MONITORX_INGEST_WORKERS": "0"}


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as found:
        yield found


def files_holding_a_secret(directory: Path) -> list[str]:
    """``path: form`` for each file under ``directory`` that holds a form of a secret."""
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: {form}" for form in FORMS if form.encode() in data]
    return found


def rows_holding_a_secret() -> list[str]:
    """On PostgreSQL: every row of every table of the test's schema, as text, read
    back with SQL; ``table: form`` for each that holds a form of a secret."""
    import psycopg

    schema = os.environ["MONITORX_STORAGE_URL"].rpartition("schema=")[2]
    found = []
    with psycopg.connect(POSTGRES_URL) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [schema],
        ).fetchall()
        assert ("documents",) in tables
        for (table,) in tables:
            rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            text = "\n".join(row for (row,) in rows)
            found += [f"{table}: {form}" for form in FORMS if form in text]
        (channels,) = conn.execute(
            f"SELECT count(*) FROM \"{schema}\".documents WHERE kind = 'channel' "
            "AND body::jsonb ? 'sealed_config' AND NOT body::jsonb ? 'config'"
        ).fetchone() or (0,)
        assert channels == 5
    return found


def _create_and_deliver(
    server: ServerProcess, receiver: HttpReceiver, inbox: Inbox, port: int
) -> None:
    with httpx.Client(base_url=server.api, timeout=30) as api:
        for body in channel_bodies(receiver, port):
            response = api.post("/channels", json=body)
            assert response.status_code == 201, response.text
        for channel_id in ("hook", "slack", "teams", "pager", "mail"):
            response = api.post(f"/channels/{channel_id}/test")
            assert response.status_code == 200, response.text
        # A careless receiver echoes what it got: neither the answer nor the log keeps it.
        echo = f"no hook /hooks/{HOOK_TOKEN} for Bearer {BEARER_TOKEN} ({HMAC_SECRET})"
        receiver.answer(500, echo)
        failed = api.post("/channels/hook/test")
        assert failed.status_code == 502 and "<secret>" in failed.text
        assert_no_secret(failed.text)
        # A real alert, routed to three channels, delivered by the notifier.
        model = {"model_type": "tabular", "thresholds": {"latency_ms": 100.0}}
        assert api.put("/models/fraud-v3", json=model).status_code in (200, 201)
        route = {"id": "all", "channels": ["hook", "pager", "mail"], "group_wait": "0s"}
        assert api.post("/routes", json=route).status_code == 201
        sent = len(receiver.requests)
        breach = {"model_id": "fraud-v3", "latency": 130.0}
        assert api.post("/metrics/inference", json=breach).status_code == 202
        wait_until(lambda: len(receiver.requests) >= sent + 2 and len(inbox.envelopes) >= 2, 30)
        (alert,) = api.get("/alerts").json()

        def delivered() -> set[str]:
            log = api.get(f"/alerts/{alert['id']}/notifications").json()
            return {e["channel"] for e in log if e["outcome"] == "delivered"}

        wait_until(lambda: delivered() == {"hook", "pager", "mail"}, 30)
        # GET → PUT of every channel as shown keeps every secret.
        for shown in api.get("/channels").json():
            assert api.put(f"/channels/{shown['id']}", json=shown).status_code == 200
        assert_no_secret(api.get("/channels").text)


def test_no_channel_secret_reaches_the_data_directory_the_database_or_the_log(
    tmp_path: Path, receiver: HttpReceiver, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    data_dir = tmp_path / "data"
    args = ["--log-level", "debug", "--access-log"]
    server = start_server(data_dir, ENV, args)
    try:
        _create_and_deliver(server, receiver, inbox, port)
        hook_requests = [r for r in receiver.requests if r.path == f"/hooks/{HOOK_TOKEN}"]
        assert len(hook_requests) >= 3  # delivered to the real URL, token and all
        assert inbox.logins and all(p == SMTP_PASSWORD.encode() for _, p in inbox.logins)
        assert files_holding_a_secret(data_dir) == []  # the WAL, while it runs
    finally:
        server.stop()
    assert files_holding_a_secret(data_dir) == []  # the checkpointed file, the whole log
    if api_backend() == "postgres":
        assert rows_holding_a_secret() == []
    else:
        assert (data_dir / "secret-key").stat().st_mode & 0o077 == 0

    # The same store and key: the channels come back and still deliver.
    again = start_server(data_dir, ENV, args)
    try:
        before = len(receiver.requests)
        receiver.answer(200, "ok")
        assert httpx.post(f"{again.api}/channels/hook/test", timeout=30).status_code == 200
        assert receiver.requests[before].path == f"/hooks/{HOOK_TOKEN}"
    finally:
        again.stop()

    # Another key: the server refuses to start and says which channels need which key.
    other = {**ENV, "MONITORX_SECRET_KEYS": generate_secret_key()}
    with pytest.raises(RuntimeError, match="exited with 2") as caught:
        start_server(data_dir, other, args)
    message = str(caught.value)
    assert "sealed with a key that is not configured" in message and "'hook' (key " in message
    assert "monitorx secrets rotate --delete-unreadable" in message
    assert files_holding_a_secret(data_dir) == []
