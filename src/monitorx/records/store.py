"""A model's drift data: its reference set, logged records and labels, in the store.

`RecordStore` is what the drift analysis, model quality and data quality read:

- ``put_reference`` / ``reference``: one reference set per model, kept as one
  Parquet blob (kind ``drift-reference``, key ``<model>/reference/<version>``),
  decoded once per version and kept for the few models analyzed last;
- ``log_records`` / ``records``: records kept per hour in bounded space, as
  `record_reservoir` describes (kind ``drift-records``); ``records`` draws a
  window's rows uniformly, each hour in proportion to its traffic, at most
  ``max_window_rows`` of them, and says how many it used of how many were logged;
- ``log_labels`` / ``records_with_labels``: labels kept as Parquet chunks per hour
  of arrival (kind ``drift-labels``), joined to records by ``request_id`` (the
  latest label of a request wins).

Every table is masked (`monitorx.ingest.masking.mask_table`, when the store has a
masker) before it is written: the personal data in string features, predictions
and labels never reaches a blob. ``erase`` deletes the records and labels of given
request ids, or those holding a value, for a data subject's erasure.

Parquet work (encoding, decoding, sampling) runs in a thread, never on the event
loop. Writes of one model are serialised in this process, so that two batches never
race on a bucket's sequence numbers or compaction.
"""

from __future__ import annotations

__all__ = ["RecordStore"]

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from monitorx.core import Clock
from monitorx.core.pii import PiiMasker
from monitorx.core.timeparse import to_epoch_us
from monitorx.ingest.feature_tables import table_columns
from monitorx.ingest.masking import mask_table
from monitorx.ingest.records import FEATURE_PREFIX, RecordColumns
from monitorx.records.blob_kinds import LABELS, RECORDS, REFERENCE
from monitorx.records.erasure import Erased, Erasure, RecordEraser
from monitorx.records.parquet_parts import read_parquet, take_rows, to_parquet, unify
from monitorx.records.reservoir import (
    BucketParts,
    PartKey,
    bucket_of,
    chunk_key,
    parse_parts,
    plan_draw,
    plan_window,
    sample_key,
)
from monitorx.records.types import (
    PREDICTION_COLUMN,
    Columns,
    LabelledRows,
    WindowRecords,
)
from monitorx.records.windows import (
    join_labels,
    present_mask,
    window_records,
)
from monitorx.store import BlobStore

# Parquet parts of a window read at once: one per core of a small server.
PARALLEL_PART_READS = 2
# Decoded reference sets kept in memory: the most recently analyzed models'. A
# reference of 100,000 rows × 60 columns takes about 50 MB.
REFERENCE_CACHE_MODELS = 4


class RecordStore:
    """Reference sets, records and labels of every model, kept in the store's blobs."""

    def __init__(
        self,
        storage: BlobStore,
        clock: Clock,
        bucket_max_rows: int = 100_000,
        max_window_rows: int = 200_000,
        seed: int | None = None,
        masker: PiiMasker | None = None,
    ) -> None:
        self._storage = storage
        self._masker = masker
        self._clock = clock
        self._cap = bucket_max_rows
        self._max_window_rows = max_window_rows
        self._rng = np.random.default_rng(seed)
        self._locks: dict[str, asyncio.Lock] = {}
        self._readers = asyncio.Semaphore(PARALLEL_PART_READS)
        # model id → (blob key of the version, table, columns), least recently used first.
        self._references: OrderedDict[str, tuple[str, pa.Table, dict[str, npt.NDArray[Any]]]] = (
            OrderedDict()
        )

    def _lock(self, model_id: str) -> asyncio.Lock:
        return self._locks.setdefault(model_id, asyncio.Lock())

    # Reference -----------------------------------------------------------------------

    def _masked(self, table: pa.Table, prefix: str = "") -> pa.Table:
        return mask_table(self._masker, table, (RecordColumns.REQUEST_ID,), prefix)

    async def _masked_off_loop(self, table: pa.Table, prefix: str = "") -> pa.Table:
        """`_masked` in a thread; with masking off, no thread hop at all."""
        if self._masker is None:
            return table
        return await asyncio.to_thread(self._masked, table, prefix)

    def as_stored(self, rows: pa.Table) -> pa.Table:
        """Feature rows masked as a reference set is when stored: what rows given to
        an analysis are compared in, so that a masked reference meets its match."""
        return self._masked(rows)

    async def put_reference(self, model_id: str, table: pa.Table) -> None:
        """Replace the model's reference set (masked): a new version, then the old
        ones go."""
        table = await self._masked_off_loop(table)
        data = await asyncio.to_thread(to_parquet, table)
        prefix = f"{model_id}/reference/"
        async with self._lock(model_id):
            older = await self._storage.list_blob_keys(REFERENCE, prefix)
            version = int(older[-1].rsplit("/", 1)[1]) + 1 if older else 1
            await self._storage.put_blob(REFERENCE, f"{prefix}{version:012d}", data)
            for key in older:
                await self._storage.delete_blobs(REFERENCE, key)

    async def reference_table(self, model_id: str) -> pa.Table | None:
        """The model's reference set, or None when there is none."""
        found = await self._cached_reference(model_id)
        return None if found is None else found[0]

    async def reference(self, model_id: str) -> dict[str, npt.NDArray[Any]] | None:
        """The reference set as `drift_rows.Columns`, or None when there is none."""
        found = await self._cached_reference(model_id)
        return None if found is None else found[1]

    async def _cached_reference(
        self, model_id: str
    ) -> tuple[pa.Table, dict[str, npt.NDArray[Any]]] | None:
        """The latest version of the reference, decoded once per version: a listing
        of its keys says which is latest (another replica may have replaced it)."""
        keys = await self._storage.list_blob_keys(REFERENCE, f"{model_id}/reference/")
        if not keys:
            self._references.pop(model_id, None)
            return None
        cached = self._references.get(model_id)
        if cached is not None and cached[0] == keys[-1]:
            self._references.move_to_end(model_id)
            return cached[1], cached[2]
        data = await self._storage.get_blob(REFERENCE, keys[-1])
        if data is None:  # replaced between the listing and the read
            return await self._cached_reference(model_id)
        table = await asyncio.to_thread(read_parquet, data)
        columns = await asyncio.to_thread(table_columns, table)
        self._references[model_id] = (keys[-1], table, columns)
        while len(self._references) > REFERENCE_CACHE_MODELS:
            self._references.popitem(last=False)
        return table, columns

    async def reference_columns(self, model_id: str) -> Columns | None:
        """`reference` (what `records.types.RecordSource` reads)."""
        return await self.reference(model_id)

    async def window_columns(self, model_id: str, start: datetime, end: datetime) -> Columns:
        """The features of the records in ``[start, end)`` as logged, and their
        ``prediction`` column when they carry one (compared only when the reference
        has one too)."""
        window = await self.records(model_id, start, end)
        columns: dict[str, npt.NDArray[Any]] = dict(window.features)
        if window.prediction is not None and PREDICTION_COLUMN not in columns:
            columns[PREDICTION_COLUMN] = window.prediction
        return columns

    async def labelled_rows(self, model_id: str, start: datetime, end: datetime) -> LabelledRows:
        """The records in ``[start, end)`` that have both a prediction and a label."""
        window = await self.records_with_labels(model_id, start, end, features=[])
        if window.label is None or window.prediction is None:
            empty = np.array([], dtype=object)
            return LabelledRows(np.array([], dtype=np.int64), empty, empty)
        keep = present_mask(window.label) & present_mask(window.prediction)
        return LabelledRows(window.ts_us[keep], window.label[keep], window.prediction[keep])

    async def has_data(self, model_id: str) -> bool:
        """Whether the model has a reference set, records or labels."""
        prefix = f"{model_id}/"
        for kind in (REFERENCE, RECORDS, LABELS):
            if await self._storage.list_blob_keys(kind, prefix):
                return True
        return False

    # Records -------------------------------------------------------------------------

    async def log_records(self, model_id: str, table: pa.Table) -> int:
        """Keep a decoded records batch (`record_decoding.decode_records`); return
        how many records it held. Buckets past twice their cap are compacted."""
        table = await self._masked_off_loop(table, FEATURE_PREFIX)
        ts = table.column(RecordColumns.TS_US).to_numpy()
        buckets = (ts // 1_000_000) // 3600 * 3600
        async with self._lock(model_id):
            states = await self._buckets(model_id)
            distinct = np.unique(buckets).tolist()
            for bucket in distinct:
                # One hour (the usual batch): the table as it is, not a copy.
                rows = table if len(distinct) == 1 else table.filter(pa.array(buckets == bucket))
                state = states.get(bucket) or BucketParts(bucket)
                token = secrets.token_hex(4)
                key = chunk_key(model_id, bucket, state.next_seq, rows.num_rows, token)
                await self._storage.put_blob(
                    RECORDS, key, await asyncio.to_thread(to_parquet, rows)
                )
                part = PartKey(key, state.next_seq, rows.num_rows, rows.num_rows, False)
                state.chunks.append(part)
                if state.stored_rows > 2 * self._cap:
                    await self._compact(model_id, state)
        return int(table.num_rows)

    async def _buckets(
        self, model_id: str, first: int | None = None, last: int | None = None
    ) -> dict[int, BucketParts]:
        keys = await self._storage.list_blob_keys(RECORDS, f"{model_id}/")
        found = parse_parts(model_id, keys)
        return {
            b: s
            for b, s in found.items()
            if (first is None or b >= first) and (last is None or b <= last)
        }

    async def _compact(self, model_id: str, state: BucketParts) -> None:
        """Replace a bucket's parts by one uniform sample of ``cap`` rows."""
        draws = plan_draw(state, min(self._cap, state.capacity), self._rng)
        pieces = []
        for part, rows in draws:
            data = await self._storage.get_blob(RECORDS, part.key)
            if data is not None:
                pieces.append(await asyncio.to_thread(take_rows, data, rows, None))
        sample = await asyncio.to_thread(lambda: to_parquet(unify(pieces)))
        seen = state.seen
        kept = sum(len(rows) for _, rows in draws)
        through = max(p.seq for p in state.parts)
        key = sample_key(model_id, state.bucket_s, through, seen, kept)
        await self._storage.put_blob(RECORDS, key, sample)
        for old in [*state.stale, *(p.key for p in state.parts)]:
            await self._storage.delete_blobs(RECORDS, old)
        state.sample = PartKey(key, through, kept, seen, True)
        state.chunks = []
        state.stale = []

    async def records(
        self,
        model_id: str,
        start: datetime,
        end: datetime,
        features: Sequence[str] | None = None,
    ) -> WindowRecords:
        """Records with a timestamp in ``[start, end)``: a uniform draw of at most
        ``max_window_rows``, every hour in proportion to its records. ``features``
        limits the feature columns read (default: all)."""
        start_us, end_us = to_epoch_us(start), to_epoch_us(end)
        states = await self._buckets(model_id, bucket_of(start_us), bucket_of(max(end_us - 1, 0)))
        buckets = list(states.values())
        # Hours cut by the window: their records are filtered by time after the draw,
        # so they count by the share of the drawn rows inside the window.
        _, counts = plan_window(buckets, self._max_window_rows)
        wanted = None
        if features is not None:
            wanted = [
                RecordColumns.REQUEST_ID,
                RecordColumns.TS_US,
                RecordColumns.PREDICTION,
                *(FEATURE_PREFIX + f for f in features),
            ]
        # Every part of the window read at once: blobs come from the store's pool,
        # Parquet decodes in threads (pyarrow releases the GIL).
        draws = [plan_draw(b, count, self._rng) for b, count in zip(buckets, counts, strict=True)]
        read = await asyncio.gather(
            *(self._read_part(part, rows, wanted) for drawn in draws for part, rows in drawn)
        )
        tables = iter(read)
        parts = [[next(tables) for _ in drawn] for drawn in draws]

        def combine() -> WindowRecords:
            pieces: list[pa.Table] = []
            seen = 0
            for bucket, drawn in zip(buckets, parts, strict=True):
                found = [t for t in drawn if t is not None]
                if not found:
                    continue
                table = unify(found)
                whole = bucket.bucket_s * 1_000_000 >= start_us and (
                    (bucket.bucket_s + 3600) * 1_000_000 <= end_us
                )
                if whole:
                    seen += bucket.seen
                else:
                    ts = table.column(RecordColumns.TS_US).to_numpy()
                    inside = (ts >= start_us) & (ts < end_us)
                    share = float(inside.mean()) if len(ts) else 0.0
                    seen += round(share * bucket.seen)
                    table = table.filter(pa.array(inside))
                pieces.append(table)
            return window_records(unify(pieces), seen)

        return await asyncio.to_thread(combine)

    async def _read_part(
        self, part: PartKey, rows: npt.NDArray[np.int64], columns: Sequence[str] | None
    ) -> pa.Table | None:
        async with self._readers:
            data = await self._storage.get_blob(RECORDS, part.key)
            if data is None:  # compacted away since the listing
                return None
            return await asyncio.to_thread(take_rows, data, rows, columns)

    async def drop_before(self, cutoff: datetime) -> int:
        """Delete every model's records and labels of the hours that end at or before
        ``cutoff`` (the raw retention); return how many parts went. Reference sets
        stay. The scheduler calls this with the data lifecycle."""
        last_dropped = bucket_of(to_epoch_us(cutoff)) - 3600
        dropped = 0
        for kind in (RECORDS, LABELS):
            for key in await self._storage.list_blob_keys(kind):
                model_id, _, rest = key.partition("/")
                bucket = rest.split("/", 1)[0]
                if bucket.isdigit() and int(bucket) <= last_dropped:
                    async with self._lock(model_id):
                        dropped += await self._storage.delete_blobs(kind, key)
        return dropped

    async def drop_expired(self, retention_s: float) -> int:
        """`drop_before` the clock's now less ``retention_s``."""
        return await self.drop_before(self._clock.now() - timedelta(seconds=retention_s))

    # Labels --------------------------------------------------------------------------

    async def log_labels(self, model_id: str, table: pa.Table) -> int:
        """Keep a decoded labels batch (`record_decoding.decode_labels`)."""
        table = await self._masked_off_loop(table)
        bucket = bucket_of(to_epoch_us(self._clock.now()))
        async with self._lock(model_id):
            keys = await self._storage.list_blob_keys(LABELS, f"{model_id}/{bucket:012d}/")
            seq = len(keys) + 1
            data = await asyncio.to_thread(to_parquet, table)
            key = chunk_key(model_id, bucket, seq, table.num_rows)
            await self._storage.put_blob(LABELS, key, data)
        return int(table.num_rows)

    async def labels_for(self, model_id: str, request_ids: pa.Array) -> pa.Array | None:
        """The latest label of each request id (null where none), or None when the
        model has no labels at all."""
        keys = await self._storage.list_blob_keys(LABELS, f"{model_id}/")
        if not keys:
            return None
        parts = []
        for key in keys:
            data = await self._storage.get_blob(LABELS, key)
            if data is not None:
                parts.append(await asyncio.to_thread(read_parquet, data))
        return await asyncio.to_thread(join_labels, unify(parts), request_ids)

    async def records_with_labels(
        self,
        model_id: str,
        start: datetime,
        end: datetime,
        features: Sequence[str] | None = None,
    ) -> WindowRecords:
        """`records`, each with its label joined by request id."""
        window = await self.records(model_id, start, end, features)
        labels = await self.labels_for(model_id, pa.array(window.request_id, pa.string()))
        if labels is None or labels.null_count == len(labels):
            return window
        label = table_columns(pa.table({"label": labels}))["label"]
        return WindowRecords(
            window.features,
            window.prediction,
            label,
            window.request_id,
            window.ts_us,
            window.rows_seen,
        )

    # Erasure --------------------------------------------------------------------------

    async def erase(self, erasure: Erasure) -> Erased:
        """Delete the records and labels that ``erasure`` names, and the reference
        rows that hold its value, in its model or in every model (`records.erasure`)."""
        return await RecordEraser(self._storage, self._masker, self._lock).erase(erasure)
