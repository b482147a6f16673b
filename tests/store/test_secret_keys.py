"""The key ring that seals secrets at rest, and the key file a single server keeps."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from monitorx.core import StorageError, ValidationError
from monitorx.store.secret_keys import (
    SecretKeyRing,
    SecretUnreadable,
    generate_secret_key,
    is_sealed,
    read_or_create_key_file,
    write_key_file,
)

OLD, NEW = generate_secret_key(), generate_secret_key()
PLAINTEXT = "smtp-password-Zq81"


def test_a_sealed_secret_opens_again_and_shows_only_its_key_id() -> None:
    ring = SecretKeyRing([NEW])
    sealed = ring.seal(PLAINTEXT)
    assert PLAINTEXT not in sealed and is_sealed(sealed)
    prefix, key_id, token = sealed.split(":", 2)
    assert (prefix, key_id) == ("fernet", ring.key_id) and len(key_id) == 8
    assert Fernet(NEW.encode()).decrypt(token.encode()).decode() == PLAINTEXT
    assert ring.unseal(sealed) == PLAINTEXT
    assert ring.seal(PLAINTEXT) != sealed  # a fresh IV each time


def test_the_first_key_seals_and_every_key_opens() -> None:
    before = SecretKeyRing([OLD]).seal(PLAINTEXT)
    ring = SecretKeyRing([NEW, OLD])
    assert ring.key_ids == (SecretKeyRing([NEW]).key_id, SecretKeyRing([OLD]).key_id)
    assert ring.unseal(before) == PLAINTEXT
    assert SecretKeyRing.key_id_of(ring.seal(PLAINTEXT)) == ring.key_id


def test_reseal_moves_a_secret_to_the_first_key() -> None:
    before = SecretKeyRing([OLD]).seal(PLAINTEXT)
    ring = SecretKeyRing([NEW, OLD])
    after = ring.reseal(before)
    assert SecretKeyRing.key_id_of(after) == ring.key_id
    assert SecretKeyRing([NEW]).unseal(after) == PLAINTEXT
    assert ring.reseal(after) == after  # already under the first key: unchanged


def test_a_secret_without_its_key_is_unreadable_and_says_which_key_it_needs() -> None:
    sealed = SecretKeyRing([OLD]).seal(PLAINTEXT)
    with pytest.raises(SecretUnreadable) as caught:
        SecretKeyRing([NEW]).unseal(sealed)
    assert caught.value.key_id == SecretKeyRing([OLD]).key_id
    assert SecretKeyRing([OLD]).key_id in str(caught.value)
    damaged = sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(SecretUnreadable, match="damaged"):
        SecretKeyRing([OLD]).unseal(damaged)
    with pytest.raises(SecretUnreadable, match="not a sealed secret"):
        SecretKeyRing([OLD]).unseal(PLAINTEXT)


@pytest.mark.parametrize("keys", [[], ["", "  "], ["not-a-key-at-all"], [NEW, "short"]])
def test_malformed_keys_are_refused_without_quoting_them(keys: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        SecretKeyRing(keys, "secret_keys")
    assert caught.value.errors[0].field == "secret_keys"
    for key in keys:
        if key.strip():
            assert key not in str(caught.value)


def test_the_ring_never_shows_its_keys() -> None:
    ring = SecretKeyRing([NEW, OLD])
    assert NEW not in repr(ring) and OLD not in repr(ring)
    assert ring.key_id in repr(ring)


def test_the_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret-key"
    keys, created = read_or_create_key_file(path)
    assert created and len(keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    SecretKeyRing(keys)  # a usable key
    again, created_again = read_or_create_key_file(path)
    assert (again, created_again) == (keys, False)
    assert [p.name for p in path.parent.iterdir()] == ["secret-key"]  # no staging file left


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret-key"
    context = multiprocessing.get_context("fork")
    start = context.Event()
    results = context.Queue()

    def run() -> None:
        start.wait()
        results.put(read_or_create_key_file(path))

    workers = [context.Process(target=run) for _ in range(6)]
    for worker in workers:
        worker.start()
    start.set()
    found = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert len({tuple(keys) for keys, _ in found}) == 1
    assert sum(created for _, created in found) == 1
    assert path.read_text().split() == found[0][0]


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret-key"
    read_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(StorageError, match="chmod 600"):
        read_or_create_key_file(path)


def test_write_key_file_replaces_the_keys_in_one_rename(tmp_path: Path) -> None:
    path = tmp_path / "secret-key"
    read_or_create_key_file(path)
    write_key_file(path, [NEW, OLD])
    assert read_or_create_key_file(path) == ([NEW, OLD], False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ValidationError):
        write_key_file(path, ["nonsense"])
    assert path.read_text().split() == [NEW, OLD]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret-key"]
