"""Secrets at rest: the keys that encrypt them, and the file a single server keeps
its key in.

A `SecretKeyRing` holds Fernet keys (``cryptography``: AES-128-CBC with an
HMAC-SHA256 over the whole token), newest first: the first seals, every one
unseals — `cryptography.fernet.MultiFernet`, so that an old key can stay readable
while everything is resealed under a new one. A sealed text is
``fernet:<key id>:<token>``; the key id (the first 8 hex digits of the key's
SHA-256) says which key a secret needs without trying them all, and when no stored
secret names an old key any more, that key can go.

Without configured keys, a server whose store is its alone (DuckDB, and InfluxDB's
side file) keeps one generated key in ``<data dir>/secret-key``, mode 0600:
`read_or_create_key_file` makes it once, atomically, so two processes starting
together agree on one key.
"""

from __future__ import annotations

__all__ = [
    "KEY_FILE_NAME",
    "SEALED_PREFIX",
    "SecretKeyRing",
    "SecretUnreadable",
    "generate_secret_key",
    "is_sealed",
    "read_or_create_key_file",
    "write_key_file",
]

import hashlib
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from monitorx.core import StorageError, ValidationError

KEY_FILE_NAME = "secret-key"
SEALED_PREFIX = "fernet"
# Hex digits of the key's SHA-256 that name it: enough to tell a handful of keys
# apart, and nothing that helps find the key.
_KEY_ID_HEX = 8
# Group and other bits: a key file anyone else may read or write is refused, as ssh
# refuses a private key that others can read.
_SHARED_MODE_BITS = stat.S_IRWXG | stat.S_IRWXO


class SecretUnreadable(StorageError):
    """A stored secret that none of the configured keys opens."""

    def __init__(self, message: str, key_id: str | None = None) -> None:
        super().__init__(message)
        self.key_id = key_id


def generate_secret_key() -> str:
    """A new random key (32 bytes, URL-safe base64), as `SecretKeyRing` takes it."""
    return Fernet.generate_key().decode()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:_KEY_ID_HEX]


def is_sealed(text: str) -> bool:
    """Whether ``text`` is in the sealed form (``fernet:<key id>:<token>``)."""
    prefix, _, rest = text.partition(":")
    return prefix == SEALED_PREFIX and ":" in rest


class SecretKeyRing:
    """Fernet keys, newest first: `seal` uses the first, `unseal` any of them.

    The keys never show themselves (``repr`` names their ids only)."""

    __slots__ = ("_by_id", "_fernet", "_ids")

    def __init__(self, keys: Sequence[str], setting: str = "secret_keys") -> None:
        """``setting`` names the keys' source in the error a malformed key raises
        (which never quotes the key)."""
        unique = list(dict.fromkeys(k.strip() for k in keys if k.strip()))
        if not unique:
            raise ValidationError("needs at least one key", setting)
        fernets: list[Fernet] = []
        ids: list[str] = []
        for position, key in enumerate(unique, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except ValueError:
                raise ValidationError(
                    f"key {position} is not a Fernet key (32 bytes of URL-safe base64); "
                    "make one with `monitorx secrets generate-key`",
                    setting,
                ) from None
            ids.append(_key_id(key.encode()))
        self._ids = tuple(ids)
        self._by_id = dict(zip(ids, fernets, strict=True))
        self._fernet = MultiFernet(fernets)

    @property
    def key_id(self) -> str:
        """The id of the key that seals."""
        return self._ids[0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key's id, newest first."""
        return self._ids

    def __repr__(self) -> str:
        return f"SecretKeyRing(key_ids={list(self._ids)!r})"

    def seal(self, plaintext: str) -> str:
        """``plaintext`` encrypted with the first key, as ``fernet:<key id>:<token>``."""
        token = self._by_id[self.key_id].encrypt(plaintext.encode())
        return f"{SEALED_PREFIX}:{self.key_id}:{token.decode()}"

    @staticmethod
    def key_id_of(sealed: str) -> str:
        """The id of the key ``sealed`` was sealed with."""
        if not is_sealed(sealed):
            raise SecretUnreadable("not a sealed secret (expected fernet:<key id>:<token>)")
        return sealed.split(":", 2)[1]

    def unseal(self, sealed: str) -> str:
        """The plaintext of a `seal` result; `SecretUnreadable` when no key opens it."""
        key_id = self.key_id_of(sealed)
        token = sealed.split(":", 2)[2].encode()
        # The key the id names; for an unknown id every key (a label is only a hint).
        fernet = self._by_id.get(key_id)
        try:
            if fernet is not None:
                return fernet.decrypt(token).decode()
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            why = (
                "the token is damaged"
                if fernet is not None
                else f"that key is not among those configured ({', '.join(self._ids)})"
            )
            raise SecretUnreadable(
                f"a secret sealed with key {key_id} cannot be read: {why}", key_id
            ) from None

    def reseal(self, sealed: str) -> str:
        """``sealed`` sealed again with the first key (unchanged when it already is)."""
        if self.key_id_of(sealed) == self.key_id:
            self.unseal(sealed)  # still proves the token is whole
            return sealed
        return self.seal(self.unseal(sealed))


# The key file -----------------------------------------------------------------------


def _read_keys(path: Path) -> list[str]:
    mode = path.stat().st_mode
    if mode & _SHARED_MODE_BITS:
        raise StorageError(
            f"{path} may be read by other users (mode {stat.S_IMODE(mode):04o}): "
            f"it holds the key to the channel secrets; run `chmod 600 {path}`"
        )
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise StorageError(f"{path} holds no key")
    return keys


def _write_private(directory: Path, keys: Sequence[str]) -> Path:
    """A new file in ``directory``, mode 0600 from its creation, holding ``keys``
    one a line, flushed to disk."""
    fd, name = tempfile.mkstemp(prefix=".secret-key.", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write("".join(f"{k}\n" for k in keys))
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_or_create_key_file(path: Path) -> tuple[list[str], bool]:
    """The keys in ``path`` (one a line, newest first) and whether this call created
    it: when it does not exist it is made with one new key, mode 0600, atomically —
    written beside it, then linked into place, which fails if another process got
    there first (its key is then the one read). A file that other users may read is
    refused (`StorageError`)."""
    if path.exists():
        return _read_keys(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = _write_private(path.parent, [generate_secret_key()])
    try:
        os.link(staged, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        staged.unlink()
    if created:
        _sync_directory(path.parent)
    return _read_keys(path), created


def write_key_file(path: Path, keys: Sequence[str]) -> None:
    """Replace ``path`` by a file holding ``keys`` (newest first), mode 0600, in one
    rename: a reader sees the old file or the new one, never a part of either."""
    SecretKeyRing(keys, str(path))  # refuse to write a key that could not be read back
    staged = _write_private(path.parent, keys)
    try:
        os.replace(staged, path)
    except BaseException:
        staged.unlink()
        raise
    _sync_directory(path.parent)
