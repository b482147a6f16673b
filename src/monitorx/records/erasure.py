"""Erasing a data subject's records: rewriting the Parquet parts that hold them.

An erasure names request ids, or a value of one column (a feature, ``prediction``
or ``label``). Every part of the model's records and labels that holds a matching
row is rewritten without it — a new part is written, then the old one deleted —
and so is its reference set when a reference row holds the value. Records and
labels go together: erasing a record erases the labels of its request id, and
erasing by a label's value erases the records it labels.

A value is matched as sent and as the store's masker masks it in mode ``hash``
(the stored form of ``alice@example.com`` is its ``<email:…>``), so an erasure
finds data stored before masking was turned on and after. Whole values match, not
parts of them.
"""

from __future__ import annotations

__all__ = ["Erased", "Erasure", "RecordEraser", "removed_rows", "rewrite_parts"]

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import ValidationError
from monitorx.core.pii import MaskMode, PiiMasker
from monitorx.ingest.records import FEATURE_PREFIX, RecordColumns
from monitorx.records.blob_kinds import LABELS, RECORDS, REFERENCE
from monitorx.records.parquet_parts import read_parquet, to_parquet
from monitorx.records.reservoir import shrunk_key
from monitorx.records.types import LABEL_COLUMN, PREDICTION_COLUMN
from monitorx.store import BlobStore

logger = logging.getLogger("monitorx.records")

Selection = Callable[[pa.Table], pa.Array | None]
"""The rows of a part to remove (a boolean array without nulls), None for none."""


@dataclass(frozen=True, slots=True)
class Erasure:
    """What to erase: the records and labels of ``request_ids``, or those whose
    ``column`` holds one of ``values`` — in model ``model_id``, or in every model."""

    request_ids: frozenset[str] = frozenset()
    column: str | None = None
    values: frozenset[str] = frozenset()
    model_id: str | None = None

    def __post_init__(self) -> None:
        if bool(self.request_ids) == (self.column is not None):
            raise ValidationError("give request_ids, or a column and a value", "body")
        if (self.column is None) != (not self.values):
            raise ValidationError("a column needs a value, and a value a column", "column")


@dataclass(slots=True)
class Erased:
    """What an erasure removed: rows of records, labels and reference sets, and the
    models they belonged to."""

    records: int = 0
    labels: int = 0
    reference_rows: int = 0
    models: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "records": self.records,
            "labels": self.labels,
            "reference_rows": self.reference_rows,
            "models": self.models,
        }


def removed_rows(table: pa.Table, column: str, values: frozenset[str]) -> pa.Array | None:
    """The rows whose string ``column`` holds one of ``values``; None when the table
    has no such column (or it holds numbers: a value is text)."""
    if column not in table.column_names or not values:
        return None
    found = table.column(column)
    if not (pa.types.is_string(found.type) or pa.types.is_large_string(found.type)):
        return None
    matches = pc.is_in(found, value_set=pa.array(sorted(values), found.type))
    return pc.fill_null(matches, False)


async def rewrite_parts(
    storage: BlobStore, kind: str, model_id: str, select: Selection, keep_empty: bool
) -> tuple[int, set[str]]:
    """Rewrite every part of ``kind`` of the model without the rows ``select``
    picks; return how many rows went and their request ids. A part left with no
    rows is deleted, unless ``keep_empty`` (a sample hides the chunks it covers, and
    labels count their parts to number the next one)."""
    removed = 0
    request_ids: set[str] = set()
    for key in await storage.list_blob_keys(kind, f"{model_id}/"):
        data = await storage.get_blob(kind, key)
        if data is None:  # gone since the listing
            continue
        table = await asyncio.to_thread(read_parquet, data)
        selected = select(table)
        count = 0 if selected is None else int(pc.sum(selected).as_py() or 0)
        if selected is None or not count:
            continue
        if RecordColumns.REQUEST_ID in table.column_names:
            ids = table.column(RecordColumns.REQUEST_ID).filter(selected).drop_null()
            request_ids.update(ids.to_pylist())
        kept = table.filter(pc.invert(selected))
        new_key = shrunk_key(model_id, key, count, secrets.token_hex(4))
        if new_key is None:
            logger.error("erasure: %s part %r is not a part's key; left as it is", kind, key)
            continue
        if kept.num_rows or keep_empty:
            await storage.put_blob(kind, new_key, await asyncio.to_thread(to_parquet, kept))
        # The new part is written before the old one goes: a crash in between never
        # loses a row that was kept (it counts twice instead, and the erased rows
        # stay in the old part until the erasure is asked again).
        await storage.delete_blobs(kind, key)
        removed += count
    return removed, request_ids


class RecordEraser:
    """Runs erasures over the records store's blobs; ``lock`` gives the lock that
    serialises a model's writes (the records store's own), held per model."""

    def __init__(
        self,
        storage: BlobStore,
        masker: PiiMasker | None,
        lock: Callable[[str], asyncio.Lock],
    ) -> None:
        self._storage = storage
        self._masker = masker
        self._lock = lock

    async def erase(self, erasure: Erasure) -> Erased:
        """Delete what ``erasure`` names in its model, or in every model."""
        values = self._stored_forms(erasure.values)
        erased = Erased()
        models = [erasure.model_id] if erasure.model_id else await self._models()
        for model_id in models:
            async with self._lock(model_id):
                records, labels, reference_rows = await self._erase_model(model_id, erasure, values)
            if records or labels or reference_rows:
                erased.records += records
                erased.labels += labels
                erased.reference_rows += reference_rows
                erased.models.append(model_id)
        return erased

    def _stored_forms(self, values: frozenset[str]) -> frozenset[str]:
        """Each value as sent and as stored: masked in mode ``hash``, where a mask
        stands for one value (a ``redact`` mask stands for every value it hides)."""
        masker = self._masker
        if masker is None or masker.policy.mode is not MaskMode.HASH:
            return values
        return values | {masker.mask(v) for v in values}

    async def _erase_model(
        self, model_id: str, erasure: Erasure, values: frozenset[str]
    ) -> tuple[int, int, int]:
        ids = set(erasure.request_ids)
        records = labels = reference_rows = 0
        column = erasure.column
        if column == LABEL_COLUMN:
            labels, labelled = await rewrite_parts(
                self._storage, LABELS, model_id, lambda t: removed_rows(t, column, values), True
            )
            ids |= labelled
            reference_rows = await self._erase_reference(model_id, column, values)
        elif column is not None:
            stored = column if column == PREDICTION_COLUMN else FEATURE_PREFIX + column
            records, logged = await rewrite_parts(
                self._storage, RECORDS, model_id, lambda t: removed_rows(t, stored, values), True
            )
            ids |= logged
            reference_rows = await self._erase_reference(model_id, column, values)
        if ids:
            by_id = frozenset(ids)

            def of_ids(table: pa.Table) -> pa.Array | None:
                return removed_rows(table, RecordColumns.REQUEST_ID, by_id)

            more_records, _ = await rewrite_parts(self._storage, RECORDS, model_id, of_ids, True)
            more_labels, _ = await rewrite_parts(self._storage, LABELS, model_id, of_ids, True)
            records += more_records
            labels += more_labels
        return records, labels, reference_rows

    async def _erase_reference(self, model_id: str, column: str, values: frozenset[str]) -> int:
        """Replace the reference set by one without the rows holding ``values``
        (written as it is: its values were masked when it was stored)."""
        prefix = f"{model_id}/reference/"
        keys = await self._storage.list_blob_keys(REFERENCE, prefix)
        data = await self._storage.get_blob(REFERENCE, keys[-1]) if keys else None
        if data is None:
            return 0
        table = await asyncio.to_thread(read_parquet, data)
        selected = removed_rows(table, column, values)
        count = 0 if selected is None else int(pc.sum(selected).as_py() or 0)
        if selected is None or not count:
            return 0
        kept = table.filter(pc.invert(selected))
        version = int(keys[-1].rsplit("/", 1)[1]) + 1
        blob = await asyncio.to_thread(to_parquet, kept)
        await self._storage.put_blob(REFERENCE, f"{prefix}{version:012d}", blob)
        for key in keys:
            await self._storage.delete_blobs(REFERENCE, key)
        return count

    async def _models(self) -> list[str]:
        """Every model with a reference set, records or labels."""
        models: set[str] = set()
        for kind in (REFERENCE, RECORDS, LABELS):
            models.update(k.partition("/")[0] for k in await self._storage.list_blob_keys(kind))
        return sorted(models)
