"""The key users' access tokens are signed with: the configured one, else one made
once in the data directory (mode 0600), else on PostgreSQL one derived from the
secret keys, the same on every replica."""

from __future__ import annotations

import stat
from pathlib import Path

from monitorx.server.settings import Settings
from monitorx.server.tokens import TOKEN_KEY_FILE, load_signing_key
from monitorx.store.secret_keys import generate_secret_key


def test_a_key_is_made_once_in_the_data_dir_readable_by_its_owner_alone(tmp_path: Path) -> None:
    # The embedded store's key file, whatever store the test run's environment names
    # (on PostgreSQL the key is derived from MONITORX_SECRET_KEYS instead).
    settings = Settings(data_dir=tmp_path / "data", storage_url=None)
    first = load_signing_key(settings)
    path = tmp_path / "data" / TOKEN_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 32
    assert load_signing_key(settings) == first, "read again, not made again"


def test_the_configured_secret_comes_first(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret="a-configured-secret-of-32-bytes!!")
    assert load_signing_key(settings) == b"a-configured-secret-of-32-bytes!!"
    assert not (tmp_path / TOKEN_KEY_FILE).exists()


def test_replicas_on_postgresql_derive_one_key_from_the_secret_keys(tmp_path: Path) -> None:
    shared = generate_secret_key()
    url = "postgresql://monitorx@db:5432/monitorx"

    def replica(name: str, key: str) -> bytes:
        return load_signing_key(
            Settings(data_dir=tmp_path / name, storage_url=url, secret_keys=[key])
        )

    assert replica("a", shared) == replica("b", shared)
    assert replica("a", shared) != replica("c", generate_secret_key())
    assert replica("a", shared) != shared.encode(), "derived, not the Fernet key itself"
    assert not (tmp_path / "a" / TOKEN_KEY_FILE).exists()
