"""`monitorx secrets generate-key` and `monitorx secrets rotate`, on a real embedded
store and on PostgreSQL; and `monitorx serve` refusing PostgreSQL without a key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitorx.alerting.notify.definitions import ChannelRecord
from monitorx.cli.main import main
from monitorx.store import open_storage
from monitorx.store.secret_keys import SecretKeyRing, generate_secret_key, read_or_create_key_file
from tests.backends import backend_url

OLD, NEW = generate_secret_key(), generate_secret_key()
HMAC_SECRET = "hmacSECRET-cli-31337"
CONFIG = {"url": "https://hooks.example.com/mx", "secret": HMAC_SECRET}


@pytest.fixture(autouse=True)
def _no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITORX_SECRET_KEYS", raising=False)
    monkeypatch.delenv("MONITORX_STORAGE_URL", raising=False)


def _record(channel_id: str) -> ChannelRecord:
    body = {"id": channel_id, "type": "webhook", "config": CONFIG}
    return ChannelRecord.from_body(body)


def put(
    url: str, data_dir: Path, documents: dict[str, dict[str, object]], project: str = "default"
) -> None:
    async def run() -> None:
        store = open_storage(url, project, data_dir=data_dir, hot_max_points=0)
        await store.open()
        try:
            for key, data in documents.items():
                await store.put_document("channel", key, json.dumps(data))
        finally:
            await store.close()

    asyncio.run(run())


def stored(url: str, data_dir: Path, project: str = "default") -> dict[str, dict[str, object]]:
    async def run() -> dict[str, dict[str, object]]:
        store = open_storage(url, project, data_dir=data_dir, hot_max_points=0)
        await store.open()
        try:
            return {k: json.loads(b) for k, b in await store.list_documents("channel")}
        finally:
            await store.close()

    return asyncio.run(run())


def sealed(channel_id: str, *keys: str) -> dict[str, object]:
    return _record(channel_id).stored(SecretKeyRing(list(keys)))


def plaintext(channel_id: str) -> dict[str, object]:
    return {"id": channel_id, "type": "webhook", "config": CONFIG, "send_resolved": True}


def key_ids(documents: dict[str, dict[str, object]]) -> dict[str, str]:
    return {k: SecretKeyRing.key_id_of(str(d["sealed_config"])) for k, d in documents.items()}


@pytest.fixture(params=["duckdb", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The embedded store under ``tmp_path / "data"``, or a fresh PostgreSQL schema."""
    if request.param == "duckdb":
        yield f"duckdb:///{(tmp_path / 'data' / 'monitorx.duckdb').as_posix()}"
        return
    with backend_url("postgres", tmp_path) as url:
        yield url


def test_generate_key_prints_a_new_key_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "generate-key"]) == 0
    first = capsys.readouterr().out
    assert main(["secrets", "generate-key"]) == 0
    second = capsys.readouterr().out
    assert first.count("\n") == 1 and first != second
    SecretKeyRing([first.strip(), second.strip()])


def test_rotate_reseals_every_channel_with_the_first_configured_key(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "data"
    put(store_url, data_dir, {"a": sealed("a", OLD), "b": sealed("b", OLD), "c": plaintext("c")})
    monkeypatch.setenv("MONITORX_SECRET_KEYS", f"{NEW},{OLD}")
    args = ["secrets", "rotate", "--storage", store_url, "--data-dir", str(data_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out
    new_id, old_id = SecretKeyRing([NEW]).key_id, SecretKeyRing([OLD]).key_id
    assert f"3 channel(s) stored; 3 sealed again with key {new_id}" in out
    assert f"2 from key {old_id}" in out and "1 from plaintext" in out
    assert f"no stored channel needs key(s) {old_id} any more" in out
    after = stored(store_url, data_dir)
    assert key_ids(after) == {"a": new_id, "b": new_id, "c": new_id}
    assert HMAC_SECRET not in json.dumps(after)
    opened = ChannelRecord.from_stored(after["c"], SecretKeyRing([NEW]))  # the new key alone
    assert opened.config == CONFIG
    assert not (data_dir / "secret-key").exists()  # keys came from the setting
    assert main(args) == 0
    assert "3 channel(s) stored; 0 sealed again" in capsys.readouterr().out


def test_rotate_new_key_replaces_the_key_file_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    url = f"duckdb:///{(data_dir / 'monitorx.duckdb').as_posix()}"
    (before,), _ = read_or_create_key_file(data_dir / "secret-key")
    put(url, data_dir, {"a": sealed("a", before), "b": plaintext("b")})
    assert main(["secrets", "rotate", "--new-key", "--data-dir", str(data_dir)]) == 0
    (after,), created = read_or_create_key_file(data_dir / "secret-key")
    assert after != before and not created
    assert set(key_ids(stored(url, data_dir)).values()) == {SecretKeyRing([after]).key_id}
    assert f"holds key {SecretKeyRing([after]).key_id} alone" in capsys.readouterr().out
    assert [p.name for p in data_dir.iterdir() if "secret" in p.name] == ["secret-key"]


def test_rotate_refuses_channels_no_key_opens_unless_told_to_delete_them(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "data"
    put(store_url, data_dir, {"lost": sealed("lost", OLD), "kept": sealed("kept", NEW)})
    monkeypatch.setenv("MONITORX_SECRET_KEYS", NEW)
    args = ["secrets", "rotate", "--storage", store_url, "--data-dir", str(data_dir)]
    before = stored(store_url, data_dir)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"'lost' (key {SecretKeyRing([OLD]).key_id})" in err and "nothing was changed" in err
    assert stored(store_url, data_dir) == before
    assert main([*args, "--delete-unreadable"]) == 0
    assert "deleted 1 unreadable channel(s): lost" in capsys.readouterr().out
    assert set(stored(store_url, data_dir)) == {"kept"}


def test_rotate_new_key_with_keys_from_the_setting_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONITORX_SECRET_KEYS", NEW)
    assert main(["secrets", "rotate", "--new-key", "--data-dir", str(tmp_path)]) == 2
    assert "put a new key" in capsys.readouterr().err


def test_serve_refuses_postgresql_storage_without_a_key_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONITORX_AUTH_ENABLED", "false")
    storage = "postgresql://nobody@127.0.0.1:1/none"
    assert main(["serve", "--data-dir", str(tmp_path), "--storage", storage]) == 2
    err = capsys.readouterr().err
    assert err.startswith("monitorx serve: MONITORX_SECRET_KEYS is required with PostgreSQL")
    assert err.count("\n") == 1 and "monitorx secrets generate-key" in err


def test_after_an_upgrade_backup_and_restore_leave_no_plaintext_in_the_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/security.md, "Upgrading from plaintext": rotate (or a first start) seals the
    # channels; the rows they replaced may linger in free pages of the DuckDB file
    # until a backup and restore rewrite it.
    data_dir = tmp_path / "data"
    url = f"duckdb:///{(data_dir / 'monitorx.duckdb').as_posix()}"
    put(url, data_dir, {"a": plaintext("a")})
    assert main(["secrets", "rotate", "--data-dir", str(data_dir)]) == 0
    assert "1 from plaintext" in capsys.readouterr().out
    backup = tmp_path / "store.backup"
    assert main(["backup", str(backup), "--data-dir", str(data_dir)]) == 0
    assert main(["restore", str(backup), "--data-dir", str(data_dir)]) == 0
    for kept in data_dir.glob("monitorx.duckdb.before-restore-*"):
        kept.unlink()
    backup.unlink()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and not [p for p in files if HMAC_SECRET.encode() in p.read_bytes()]
    config = ChannelRecord.from_stored(
        stored(url, data_dir)["a"],
        SecretKeyRing(read_or_create_key_file(data_dir / "secret-key")[0]),
    ).config
    assert config == CONFIG


def test_rotate_reseals_the_channels_of_every_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    url = f"duckdb:///{(data_dir / 'monitorx.duckdb').as_posix()}"
    (before,), _ = read_or_create_key_file(data_dir / "secret-key")
    put(url, data_dir, {"a": sealed("a", before)})
    put(url, data_dir, {"a": sealed("a", before), "b": plaintext("b")}, project="team-b")
    assert main(["secrets", "rotate", "--new-key", "--data-dir", str(data_dir)]) == 0
    (after,), _ = read_or_create_key_file(data_dir / "secret-key")
    for project in ("default", "team-b"):
        ids = set(key_ids(stored(url, data_dir, project)).values())
        assert ids == {SecretKeyRing([after]).key_id}, project
    assert "3 channel(s) stored; 3 sealed again" in capsys.readouterr().out
