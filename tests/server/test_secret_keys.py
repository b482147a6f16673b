"""Where a server's secret keys come from: MONITORX_SECRET_KEYS, or the key file a
single server generates; and a PostgreSQL store without keys is refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pydantic
import pytest

from monitorx.core import MonitorXError
from monitorx.server.app import create_app
from monitorx.server.secret_keys import load_secret_keys
from monitorx.server.settings import Settings
from monitorx.store.secret_keys import SecretKeyRing, generate_secret_key

NEW, OLD = generate_secret_key(), generate_secret_key()


@pytest.fixture(autouse=True)
def _no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/conftest.py sets a key for servers on PostgreSQL; these tests choose.
    monkeypatch.delenv("MONITORX_SECRET_KEYS", raising=False)
    monkeypatch.delenv("MONITORX_STORAGE_URL", raising=False)


def test_a_single_server_generates_its_key_once_into_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_secret_keys(settings)
    path = tmp_path / "data" / "secret-key"
    assert first.file == path and first.created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_secret_keys(settings)
    assert not again.created and again.ring.key_ids == first.ring.key_ids
    key = path.read_text().strip()
    assert key not in first.describe() and first.ring.key_id in first.describe()
    create_app(settings)  # the app finds the same file
    assert path.read_text().strip() == key


def test_influxdb_storage_keeps_its_key_in_the_data_directory_too(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, storage_url="influxdb://127.0.0.1:1/db")
    assert load_secret_keys(settings).file == tmp_path / "secret-key"


def test_an_in_memory_store_needs_no_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, storage_url="duckdb:///:memory:")
    assert load_secret_keys(settings).source == "memory"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [f"{NEW},{OLD}", f" {NEW} , {OLD} ", f'["{NEW}", "{OLD}"]'])
def test_keys_from_the_environment_newest_first(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORX_SECRET_KEYS", value)
    keys = load_secret_keys(Settings(data_dir=tmp_path))
    assert keys.ring.key_ids == SecretKeyRing([NEW, OLD]).key_ids
    assert keys.file is None and keys.source == "MONITORX_SECRET_KEYS"
    assert NEW not in keys.describe() and OLD not in keys.describe()
    assert list(tmp_path.iterdir()) == []  # no key file beside configured keys


@pytest.mark.parametrize("value", ["[not-json-" + NEW, f"{NEW},not-a-key"])
def test_a_malformed_key_setting_is_refused_without_quoting_it(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORX_SECRET_KEYS", value)
    with pytest.raises((pydantic.ValidationError, MonitorXError)) as caught:
        load_secret_keys(Settings(data_dir=tmp_path))
    assert "secret_keys" in str(caught.value).lower()
    assert NEW not in str(caught.value) and "not-a-key" not in str(caught.value)


def test_postgresql_storage_without_keys_is_refused_before_anything_opens(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path, storage_url="postgresql://nobody@127.0.0.1:1/none", auth_enabled=False
    )
    with pytest.raises(MonitorXError, match="MONITORX_SECRET_KEYS is required with PostgreSQL"):
        create_app(settings)
    assert list(tmp_path.iterdir()) == []  # and no key file was made for it
    create_app(settings.model_copy(update={"secret_keys": [pydantic.SecretStr(NEW)]}))
