"""Channel secrets at rest: sealing what an earlier version stored in plaintext, and
resealing every channel under the newest key (``monitorx secrets rotate``).

A stored channel keeps its ``config`` sealed (`ChannelRecord.stored`). Two kinds of
stored channel need writing again: those an earlier version kept in plaintext, which
the server seals when it starts (`seal_plaintext_channels`), and those sealed with a
key that is no longer the first, which `reseal_channels` moves to the first key so
that the old key can be dropped. Both write every changed channel in one
transaction.
"""

from __future__ import annotations

__all__ = ["CHANNEL", "ResealReport", "reseal_channels", "seal_plaintext_channels"]

import json
from collections import Counter
from dataclasses import dataclass

from monitorx.alerting.notify.definitions import (
    SEALED_CONFIG,
    ChannelRecord,
    is_plaintext_channel,
)
from monitorx.store import DocumentStore
from monitorx.store.secret_keys import SecretKeyRing, SecretUnreadable

CHANNEL = "channel"  # the document kind of channels


@dataclass(frozen=True, slots=True)
class ResealReport:
    """What `reseal_channels` did."""

    key_id: str  # the key every readable channel is now sealed with
    channels: int  # channels stored, the unreadable among them
    resealed: int  # channels written again (from plaintext or an older key)
    from_plaintext: int  # of those, channels that were in plaintext
    from_keys: dict[str, int]  # of those, by the key they were sealed with
    unreadable: dict[str, str]  # channel id → the key id it needs, none of ours
    deleted: tuple[str, ...]  # unreadable channels deleted (on request)


def _sealed_key(data: dict[str, object]) -> str:
    sealed = data[SEALED_CONFIG]
    assert isinstance(sealed, str)
    return SecretKeyRing.key_id_of(sealed)


async def seal_plaintext_channels(storage: DocumentStore, keys: SecretKeyRing) -> int:
    """Seal every channel stored in plaintext (by a version before sealing); the
    number sealed. Channels already sealed are left as they are."""
    puts = []
    for key, body in await storage.list_documents(CHANNEL):
        data = json.loads(body)
        if is_plaintext_channel(data):
            record = ChannelRecord.from_stored(data, keys)
            puts.append((CHANNEL, key, json.dumps(record.stored(keys))))
    if puts:
        await storage.apply_documents(puts)
    return len(puts)


async def reseal_channels(
    storage: DocumentStore, keys: SecretKeyRing, *, delete_unreadable: bool = False
) -> ResealReport:
    """Seal every stored channel with the first of ``keys``: those in plaintext and
    those sealed with another key. Refuses (`SecretUnreadable`, naming each channel
    and the key it needs) when a channel is sealed with a key not in ``keys``, and
    changes nothing then — unless ``delete_unreadable``, which deletes those
    channels (their secrets are lost with their key) in the same transaction."""
    puts: list[tuple[str, str, str]] = []
    unreadable: dict[str, str] = {}
    from_keys: Counter[str] = Counter()
    plaintext = 0
    documents = await storage.list_documents(CHANNEL)
    for key, body in documents:
        data = json.loads(body)
        sealed_with = None if is_plaintext_channel(data) else _sealed_key(data)
        if sealed_with == keys.key_id:
            continue
        try:
            record = ChannelRecord.from_stored(data, keys)
        except SecretUnreadable as exc:
            unreadable[key] = exc.key_id or "?"
            continue
        puts.append((CHANNEL, key, json.dumps(record.stored(keys))))
        if sealed_with is None:
            plaintext += 1
        else:
            from_keys[sealed_with] += 1
    if unreadable and not delete_unreadable:
        listing = ", ".join(f"{c!r} (key {k})" for c, k in sorted(unreadable.items()))
        raise SecretUnreadable(
            f"{len(unreadable)} channel(s) are sealed with a key that is not configured: "
            f"{listing}; nothing was changed"
        )
    deleted = tuple(sorted(unreadable)) if delete_unreadable else ()
    if puts or deleted:
        await storage.apply_documents(puts, [(CHANNEL, c) for c in deleted])
    return ResealReport(
        key_id=keys.key_id,
        channels=len(documents),
        resealed=len(puts),
        from_plaintext=plaintext,
        from_keys=dict(from_keys),
        unreadable=unreadable,
        deleted=deleted,
    )
