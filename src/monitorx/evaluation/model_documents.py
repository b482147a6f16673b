"""Per-model settings kept as documents: one document of a kind per model id.

The quality configuration, the data-quality rules and the drift schedule of a
model are each such a kind. They are read into memory at start-up (`load`) and
written through to the store, so scheduled jobs read them without a query.
"""

from __future__ import annotations

__all__ = ["ModelDocuments"]

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

import orjson

from monitorx.core import ValidationError
from monitorx.store import DocumentStore

logger = logging.getLogger("monitorx.server")

T = TypeVar("T")


class ModelDocuments(Generic[T]):
    """The ``kind`` documents of every model, parsed by ``parse`` and written by
    ``dump`` (both on the JSON value, not the text)."""

    def __init__(
        self,
        storage: DocumentStore,
        kind: str,
        parse: Callable[[object], T],
        dump: Callable[[T], dict[str, object]],
    ) -> None:
        self._storage = storage
        self._kind = kind
        self._parse = parse
        self._dump = dump
        self._items: dict[str, T] = {}
        self._lock = asyncio.Lock()

    @property
    def kind(self) -> str:
        return self._kind

    async def load(self) -> None:
        """Read every stored document (at start-up, and again when another replica
        changed them); one that no longer parses is logged and skipped."""
        # Under the lock: a change made here meanwhile is not undone by an older read.
        async with self._lock:
            items: dict[str, T] = {}
            for key, body in await self._storage.list_documents(self._kind):
                try:
                    items[key] = self._parse(orjson.loads(body))
                except (ValidationError, ValueError) as exc:
                    logger.error(
                        "stored %s of model %r is not valid and is skipped: %s",
                        self._kind,
                        key,
                        exc,
                    )
            self._items = items

    def get(self, model_id: str) -> T | None:
        return self._items.get(model_id)

    def items(self) -> list[tuple[str, T]]:
        """(model id, value) of every model that has one, by model id."""
        return sorted(self._items.items(), key=lambda kv: kv[0])

    async def put(self, model_id: str, value: T) -> bool:
        """Store a model's value; True when it had none before."""
        async with self._lock:
            text = orjson.dumps(self._dump(value)).decode()
            await self._storage.put_document(self._kind, model_id, text)
            created = model_id not in self._items
            self._items[model_id] = value
        return created

    async def delete(self, model_id: str) -> bool:
        """Remove a model's value; False when it had none."""
        async with self._lock:
            if model_id not in self._items:
                return False
            await self._storage.delete_document(self._kind, model_id)
            del self._items[model_id]
        return True
