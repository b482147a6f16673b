"""A model's logged records, kept in bounded space: per hour, a uniform sample.

Records are kept per (model, hour bucket) as Parquet parts in the store's blobs:

- *chunks*, ``<model>/<bucket>/c<seq>-<rows>-<token>``: one per accepted batch, every row
  kept (each stands for itself);
- at most one live *sample*, ``<model>/<bucket>/s<through>-<seen>-<rows>``: a
  uniform sample without replacement of ``rows`` of the ``seen`` records that the
  bucket's chunks up to ``through`` held.

When a bucket's stored rows pass twice its cap, its sample and chunks are merged
into one new sample of ``cap`` rows (`plan_sample`): the bucket's space is bounded
by the cap whatever the traffic, and its count of records seen stays exact. A new
sample is written before the parts it replaces are deleted, and a sample hides the
chunks it covers, so a crash between the two steps loses and counts nothing twice.

Drawing ``m`` rows uniformly from a bucket's population (the records the sample
stands for plus the chunk rows) takes ``k ~ Hypergeometric(seen_sample,
chunk_rows, m)`` rows uniformly from the sample and ``m − k`` from the chunks:
a uniform subset of a uniform subset is uniform, so the draw is uniform over all
the bucket's records (the reservoir merge of Vitter, and of Spark's
``sampleByKey`` when sizes are known). A window's analysis takes the same share
``f`` of every bucket's records (`plan_window`), so buckets count in proportion to
their traffic, not to what each could keep.
"""

from __future__ import annotations

__all__ = [
    "BucketParts",
    "PartKey",
    "bucket_of",
    "chunk_key",
    "parse_parts",
    "plan_draw",
    "plan_window",
    "sample_key",
    "shrunk_key",
]

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

BUCKET_S = 3600
"""Records are bucketed by the UTC hour of their timestamp."""
_PART = re.compile(r"^(?P<bucket>\d{12})/(?:c(?P<seq>\d{8})-(?P<rows>\d+)(?:-[0-9a-f]+)?|"
                   r"s(?P<through>\d{8})-(?P<seen>\d+)-(?P<srows>\d+))$")  # fmt: skip


def bucket_of(ts_us: int) -> int:
    """The start (epoch seconds) of the hour bucket holding ``ts_us``."""
    return (ts_us // 1_000_000) // BUCKET_S * BUCKET_S


def chunk_key(model_id: str, bucket_s: int, seq: int, rows: int, token: str = "") -> str:
    """A chunk's key; ``token`` (hex) keeps two replicas that pick the same sequence
    number for a bucket at the same moment from overwriting each other's batch."""
    return f"{model_id}/{bucket_s:012d}/c{seq:08d}-{rows}" + (f"-{token}" if token else "")


def sample_key(model_id: str, bucket_s: int, through: int, seen: int, rows: int) -> str:
    return f"{model_id}/{bucket_s:012d}/s{through:08d}-{seen}-{rows}"


def shrunk_key(model_id: str, key: str, removed: int, token: str) -> str | None:
    """The key of a part rewritten without ``removed`` of its rows (an erasure):
    a chunk keeps its sequence number under a new ``token``, a sample the chunks it
    covers, and both count the rows removed as never logged. None for a key that
    names no part."""
    match = _PART.match(key.removeprefix(f"{model_id}/"))
    if match is None:
        return None
    bucket = int(match["bucket"])
    if match["seq"] is not None:
        rows = int(match["rows"]) - removed
        return chunk_key(model_id, bucket, int(match["seq"]), max(rows, 0), token)
    seen, rows = int(match["seen"]) - removed, int(match["srows"]) - removed
    return sample_key(model_id, bucket, int(match["through"]), max(seen, rows, 0), max(rows, 0))


@dataclass(frozen=True, slots=True)
class PartKey:
    """One stored part of a bucket: a chunk (``seen == rows``) or a sample."""

    key: str
    seq: int
    """A chunk's sequence number; for a sample, the last chunk it covers."""
    rows: int
    seen: int
    is_sample: bool


@dataclass
class BucketParts:
    """What a bucket holds: its live sample, the chunks after it, and stale parts."""

    bucket_s: int
    sample: PartKey | None = None
    chunks: list[PartKey] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def parts(self) -> list[PartKey]:
        return ([self.sample] if self.sample else []) + self.chunks

    @property
    def seen(self) -> int:
        """Records logged into this bucket."""
        return sum(p.seen for p in self.parts)

    @property
    def stored_rows(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def capacity(self) -> int:
        """The most records a uniform draw (`plan_draw`) can take from this bucket.

        A draw takes ``k ~ Hypergeometric`` of its rows from the sample, and ``k``
        may be as large as the draw while the sample stands for more records than it
        keeps; so a bucket with a reduced sample gives at most the sample's rows.
        """
        sample = self.sample
        if sample is None or sample.seen == sample.rows:
            return self.stored_rows
        return sample.rows

    @property
    def next_seq(self) -> int:
        return max([0, *(p.seq for p in self.parts)]) + 1


def parse_parts(model_id: str, keys: list[str]) -> dict[int, BucketParts]:
    """Group a model's record keys by bucket; a sample hides the chunks it covers and
    any older sample (left behind by a crash mid-compaction)."""
    found: dict[int, list[PartKey]] = {}
    prefix = f"{model_id}/"
    for key in keys:
        match = _PART.match(key.removeprefix(prefix))
        if match is None:
            continue
        bucket = int(match["bucket"])
        if match["seq"] is not None:
            rows = int(match["rows"])
            part = PartKey(key, int(match["seq"]), rows, rows, is_sample=False)
        else:
            part = PartKey(
                key, int(match["through"]), int(match["srows"]), int(match["seen"]), True
            )
        found.setdefault(bucket, []).append(part)
    buckets: dict[int, BucketParts] = {}
    for bucket, parts in sorted(found.items()):
        samples = sorted((p for p in parts if p.is_sample), key=lambda p: p.seq)
        live = samples[-1] if samples else None
        through = live.seq if live else 0
        state = BucketParts(bucket, live)
        state.stale = [p.key for p in samples[:-1]]
        for part in sorted((p for p in parts if not p.is_sample), key=lambda p: p.seq):
            (state.chunks.append(part) if part.seq > through else state.stale.append(part.key))
        buckets[bucket] = state
    return buckets


def plan_draw(
    bucket: BucketParts, count: int, rng: np.random.Generator
) -> list[tuple[PartKey, npt.NDArray[np.int64]]]:
    """Row indices, per part, of a uniform draw of ``count`` of the bucket's records
    (``count`` at most its `BucketParts.capacity`)."""
    sample = bucket.sample
    chunk_rows = sum(c.rows for c in bucket.chunks)
    from_sample = 0
    if sample is not None:
        if chunk_rows == 0:
            from_sample = count
        else:
            from_sample = int(rng.hypergeometric(sample.seen, chunk_rows, count))
        from_sample = min(from_sample, sample.rows)
    draws: list[tuple[PartKey, npt.NDArray[np.int64]]] = []
    if sample is not None and from_sample:
        picked = rng.choice(sample.rows, size=from_sample, replace=False)
        draws.append((sample, np.sort(picked).astype(np.int64)))
    from_chunks = min(count - from_sample, chunk_rows)
    if from_chunks:
        if from_chunks == chunk_rows:
            chosen = np.arange(chunk_rows, dtype=np.int64)
        else:
            chosen = np.sort(rng.choice(chunk_rows, size=from_chunks, replace=False))
        start = 0
        for chunk in bucket.chunks:
            lo, hi = np.searchsorted(chosen, [start, start + chunk.rows])
            if hi > lo:
                draws.append((chunk, (chosen[lo:hi] - start).astype(np.int64)))
            start += chunk.rows
    return draws


def plan_window(buckets: list[BucketParts], max_rows: int) -> tuple[float, list[int]]:
    """The share ``f`` of every bucket's records a window's analysis draws, and each
    bucket's count ``round(f · seen)``: ``f`` is the largest share that every bucket
    can give from what it keeps and that keeps the total within ``max_rows``."""
    seen_total = sum(b.seen for b in buckets)
    if seen_total == 0:
        return 0.0, [0 for _ in buckets]
    share = min(1.0, max_rows / seen_total)
    for bucket in buckets:
        if bucket.seen:
            share = min(share, bucket.capacity / bucket.seen)
    counts = [min(round(share * b.seen), b.capacity) for b in buckets]
    return share, counts
