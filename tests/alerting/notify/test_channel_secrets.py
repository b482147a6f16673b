"""Channel configs sealed in the store: written sealed, read back, plaintext from an
earlier version sealed at load, resealed under a new key, refused without their key."""

from __future__ import annotations

import json

import httpx
import pytest

from monitorx.alerting.notify.channel_secrets import (
    CHANNEL,
    reseal_channels,
    seal_plaintext_channels,
)
from monitorx.alerting.notify.channels import REDACTED
from monitorx.alerting.notify.config import AlertingConfig
from monitorx.alerting.notify.definitions import ChannelRecord, merge_secrets
from monitorx.core import FakeClock, ValidationError
from monitorx.store import DuckDBStorage
from monitorx.store.secret_keys import SecretKeyRing, SecretUnreadable, generate_secret_key

OLD_KEY, NEW_KEY = generate_secret_key(), generate_secret_key()
OLD, NEW = SecretKeyRing([OLD_KEY]), SecretKeyRing([NEW_KEY])
HMAC = "hmac-SECRET-4f9c2a"
BEARER = "Bearer tok-SECRET-77d1"
SLACK = "https://hooks.slack.com/services/T00000000/B00000000/slackSECRETxyz123456"


def _body(channel_id: str = "ops") -> dict[str, object]:
    return {
        "id": channel_id,
        "type": "webhook",
        "config": {
            "url": "https://hooks.example.com/mx",
            "secret": HMAC,
            "headers": {"Authorization": BEARER, "X-Team": "ml"},
        },
    }


def _slack(channel_id: str = "chat") -> dict[str, object]:
    return {"id": channel_id, "type": "slack", "config": {"url": SLACK}}


def _config(
    storage: DuckDBStorage, clock: FakeClock, http: httpx.AsyncClient, keys: SecretKeyRing
) -> AlertingConfig:
    return AlertingConfig(storage, clock, http, keys)


async def _stored(storage: DuckDBStorage) -> dict[str, dict[str, object]]:
    return {k: json.loads(b) for k, b in await storage.list_documents(CHANNEL)}


async def test_a_channel_is_stored_sealed_whole_and_read_back(
    storage: DuckDBStorage, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    config = _config(storage, clock, http, NEW)
    await config.put_channel(ChannelRecord.from_body(_body()))
    await config.put_channel(ChannelRecord.from_body(_slack()))
    stored = await _stored(storage)
    text = json.dumps(stored)
    for secret in (HMAC, BEARER, "tok-SECRET", "slackSECRETxyz123456", "hooks.example.com"):
        assert secret not in text
    assert set(stored["ops"]) == {"id", "type", "sealed_config", "send_resolved", "enabled"}
    assert stored["ops"]["type"] == "webhook"
    assert SecretKeyRing.key_id_of(str(stored["ops"]["sealed_config"])) == NEW.key_id

    again = _config(storage, clock, http, NEW)
    await again.load()
    assert again.channels["ops"].config == _body()["config"]
    assert again.channels["chat"].config == {"url": SLACK}
    assert set(again.senders) == {"ops", "chat"}


async def test_channels_stored_in_plaintext_by_an_earlier_version_are_sealed_at_load(
    storage: DuckDBStorage, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    legacy = {**_body(), "send_resolved": True, "enabled": True}
    await storage.put_document(CHANNEL, "ops", json.dumps(legacy))
    config = _config(storage, clock, http, NEW)
    await config.load()
    assert config.channels["ops"].config == legacy["config"]
    stored = await _stored(storage)
    assert "config" not in stored["ops"] and HMAC not in json.dumps(stored)
    assert SecretKeyRing.key_id_of(str(stored["ops"]["sealed_config"])) == NEW.key_id
    assert await seal_plaintext_channels(storage, NEW) == 0  # nothing left to seal


async def test_a_channel_sealed_with_a_key_not_configured_stops_the_load(
    storage: DuckDBStorage, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await _config(storage, clock, http, OLD).put_channel(ChannelRecord.from_body(_body()))
    config = _config(storage, clock, http, NEW)
    with pytest.raises(SecretUnreadable) as caught:
        await config.load()
    assert "'ops'" in str(caught.value) and OLD.key_id in str(caught.value)
    assert NEW.key_id in str(caught.value)
    assert config.channels == {} and config.senders == {}


async def test_reseal_moves_every_channel_to_the_first_key(
    storage: DuckDBStorage, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await _config(storage, clock, http, OLD).put_channel(ChannelRecord.from_body(_body()))
    await storage.put_document(
        CHANNEL, "legacy", json.dumps({**_slack("legacy"), "send_resolved": False})
    )
    both = SecretKeyRing([NEW_KEY, OLD_KEY])
    report = await reseal_channels(storage, both)
    assert (report.channels, report.resealed, report.from_plaintext) == (2, 2, 1)
    assert report.from_keys == {OLD.key_id: 1} and report.key_id == NEW.key_id
    stored = await _stored(storage)
    assert {SecretKeyRing.key_id_of(str(d["sealed_config"])) for d in stored.values()} == {
        NEW.key_id
    }
    # The new key alone now reads everything.
    config = _config(storage, clock, http, NEW)
    await config.load()
    assert config.channels["ops"].config == _body()["config"]
    again = await reseal_channels(storage, both)
    assert again.resealed == 0


async def test_reseal_refuses_unreadable_channels_or_deletes_them_when_asked(
    storage: DuckDBStorage, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await _config(storage, clock, http, OLD).put_channel(ChannelRecord.from_body(_body("lost")))
    await storage.put_document(
        CHANNEL, "legacy", json.dumps({**_slack("legacy"), "send_resolved": False})
    )
    before = await _stored(storage)
    with pytest.raises(SecretUnreadable, match=r"'lost' \(key " + OLD.key_id):
        await reseal_channels(storage, NEW)
    assert await _stored(storage) == before  # nothing changed
    report = await reseal_channels(storage, NEW, delete_unreadable=True)
    assert report.deleted == ("lost",) and report.unreadable == {"lost": OLD.key_id}
    assert set(await _stored(storage)) == {"legacy"}


def test_a_channel_record_repr_hides_its_config() -> None:
    record = ChannelRecord.from_body(_body())
    assert HMAC not in repr(record) and "tok-SECRET" not in repr(record)


def test_a_value_sent_back_as_shown_keeps_the_stored_secret() -> None:
    slack = ChannelRecord.from_body(_slack())
    shown = slack.public()
    assert shown["config"] == {"url": f"https://hooks.slack.com/{REDACTED}"}
    again = ChannelRecord.from_body(shown, "chat", slack)
    assert again.config == {"url": SLACK}
    # Another URL with the marker in it is not the shown value: refused, never stored.
    assert merge_secrets(
        {"url": f"https://evil.example/{REDACTED}"}, {"url": SLACK}, shown["config"]
    ) == {"url": f"https://evil.example/{REDACTED}"}
    # A new value replaces the secret.
    other = "https://hooks.slack.com/services/T1/B1/anotherSECRET99887766"
    assert ChannelRecord.from_body(
        {**_slack(), "config": {"url": other}}, "chat", slack
    ).config == {"url": other}


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/mx",
        "http://hooks.example.com/mx",
        "https://hooks.example.com:8443/mx",
    ],
)
def test_stored_secrets_never_follow_a_changed_destination(url: str) -> None:
    previous = ChannelRecord.from_body(_body())
    shown = previous.public()
    moved = {**shown, "config": {**shown["config"], "url": url}}
    with pytest.raises(ValidationError, match="destination changed") as caught:
        ChannelRecord.from_body(moved, "ops", previous)
    assert caught.value.errors[0].field in ("config.secret", "config.headers.Authorization")
    # With its secrets sent again, the move is fine.
    fresh = {**moved, "config": {"url": url, "secret": "another-secret-123"}}
    assert ChannelRecord.from_body(fresh, "ops", previous).config["secret"] == "another-secret-123"
    # The same destination with another path keeps them.
    same = {**shown, "config": {**shown["config"], "url": "https://hooks.example.com/v2"}}
    assert ChannelRecord.from_body(same, "ops", previous).config["secret"] == HMAC


def test_an_email_password_never_follows_a_changed_smtp_host() -> None:
    body = {
        "id": "mail",
        "type": "email",
        "config": {
            "host": "smtp.example.com",
            "from": "a@example.com",
            "to": ["b@example.com"],
            "username": "alerts",
            "password": "smtp-SECRET-pw",
        },
    }
    previous = ChannelRecord.from_body(body)
    shown = previous.public()
    assert ChannelRecord.from_body(shown, "mail", previous).config["password"] == "smtp-SECRET-pw"
    moved = {**shown, "config": {**shown["config"], "host": "smtp.attacker.example"}}
    with pytest.raises(ValidationError, match="destination changed"):
        ChannelRecord.from_body(moved, "mail", previous)


def test_a_destination_left_at_its_default_is_not_a_changed_one() -> None:
    # PagerDuty's url defaults to the Events API; the API shows it, and sending the
    # view back is the same destination.
    body = {"id": "pager", "type": "pagerduty", "config": {"routing_key": "R" * 32}}
    previous = ChannelRecord.from_body(body)
    shown = previous.public()
    assert shown["config"]["url"] == "https://events.pagerduty.com/v2/enqueue"
    assert ChannelRecord.from_body(shown, "pager", previous).config["routing_key"] == "R" * 32
    moved = {**shown, "config": {**shown["config"], "url": "https://attacker.example/v2"}}
    with pytest.raises(ValidationError, match="destination changed") as caught:
        ChannelRecord.from_body(moved, "pager", previous)
    assert caught.value.errors[0].field == "config.routing_key"
