"""The ingest service: decode, store durably, then hand the committed data on.

Every way metrics come in — one metric, a batch, a drift metric a client computed,
the drift metrics of a platform analysis — goes through `IngestService`, so that
"write, then evaluate" is written once: the store commits first (a 2xx means
durable), and only then is the committed batch handed to whatever the app wired in
as ``on_committed`` (the evaluate stage). ``ingest`` sits below ``evaluation`` and
never imports it. Each body's outcome and each store write's duration are counted
in ``stats`` (`IngestStats`), which the server reports to Prometheus.
"""

from __future__ import annotations

__all__ = ["BatchOutcome", "Committed", "IngestService", "SampleWrite"]

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import pyarrow as pa

from monitorx.core import Clock, DriftMetric, MetricColumns, ValidationError
from monitorx.core.pii import PiiMasker
from monitorx.core.samples import SampleColumns
from monitorx.ingest.decode import Rejection, decode_drift, decode_metric
from monitorx.ingest.masking import mask_series_labels, mask_tags_json
from monitorx.ingest.pool import BatchDecoder
from monitorx.ingest.samples import decode_samples
from monitorx.ingest.stats import IngestKind, IngestStats
from monitorx.store import MetricStore
from monitorx.store.samples.batch import KeyedSamples
from monitorx.store.samples.service import CustomMetrics

T = TypeVar("T")

Committed: TypeAlias = pa.Table | MetricColumns | DriftMetric
"""What evaluation receives: a committed batch of metrics, or one drift metric."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """How many items of a batch were stored, and why the others were not."""

    accepted: int
    rejected: list[Rejection]


@dataclass(frozen=True, slots=True)
class SampleWrite:
    """How many samples of a validated batch were stored, and the rows refused (a
    metric past its series limit), each with why."""

    accepted: int
    refused: list[tuple[int, str]]


class IngestService:
    """Decodes bodies, masks the personal data in them (``masker``; None: off),
    commits them to the store, then calls ``on_committed``."""

    def __init__(
        self,
        storage: MetricStore,
        clock: Clock,
        decoder: BatchDecoder,
        max_batch_items: int,
        on_committed: Callable[[Committed], None],
        custom: CustomMetrics,
        masker: PiiMasker | None = None,
    ) -> None:
        self._storage = storage
        self._masker = masker
        self._clock = clock
        self._decoder = decoder
        self._max_batch_items = max_batch_items
        self._on_committed = on_committed
        self._custom = custom
        self.stats = IngestStats()

    @property
    def masker(self) -> PiiMasker | None:
        """The project's PII masker (None: masking is off), for the other ways in
        that mask what they store (events, logs)."""
        return self._masker

    async def metric(self, body: bytes) -> None:
        """Store one inference metric; return once it is durable."""
        try:
            metric = decode_metric(body, self._clock.now(), self._masker)
        except ValidationError:
            self.stats.count(IngestKind.INFERENCE, 0, 1)
            raise
        await self._store(IngestKind.INFERENCE, self._storage.write_metrics(metric))
        self.stats.count(IngestKind.INFERENCE, 1)
        self._on_committed(metric)

    async def metric_batch(self, body: bytes) -> BatchOutcome:
        """Store the valid items of a batch (none stored when none is valid)."""
        table, rejected = await self._decoder.decode(
            body, self._clock.now(), self._max_batch_items, self._masker
        )
        if table.num_rows:
            await self._store(IngestKind.INFERENCE, self._storage.write_metrics(table))
        self.stats.count(IngestKind.INFERENCE, table.num_rows, len(rejected))
        if table.num_rows:
            self._on_committed(table)
        return BatchOutcome(table.num_rows, rejected)

    async def write_metric_columns(self, columns: MetricColumns) -> None:
        """Store inference metrics another way in has decoded and validated (the
        model calls of OTLP spans), then hand them on as a batch is."""
        if not len(columns):
            return
        columns.tags_json = mask_tags_json(self._masker, columns.tags_json)
        await self._store(IngestKind.INFERENCE, self._storage.write_metrics(columns))
        self.stats.count(IngestKind.INFERENCE, len(columns))
        self._on_committed(columns)

    async def drift(self, body: bytes) -> None:
        """Store one drift metric reported by a client."""
        try:
            metric = decode_drift(body, self._clock.now())
        except ValidationError:
            self.stats.count(IngestKind.DRIFT, 0, 1)
            raise
        await self.drift_metrics([metric])

    async def drift_metrics(self, metrics: Iterable[DriftMetric]) -> None:
        """Store drift metrics (a client's, or a platform analysis'), each then evaluated."""
        for metric in metrics:
            await self._store(IngestKind.DRIFT, self._storage.write_drift(metric))
            self.stats.count(IngestKind.DRIFT, 1)
            self._on_committed(metric)

    async def samples(self, body: bytes) -> BatchOutcome:
        """Store the valid samples of a ``POST /metrics/custom`` body; the others, and
        those past their metric's series limit, are rejected by index."""
        # A large body is decoded in a worker process, as an inference batch is.
        columns, indices, rejected = await self._decoder.run(
            decode_samples, decode_samples, body, self._clock.now(), self._max_batch_items
        )
        written = await self.write_samples(columns, refused_before=len(rejected))
        rejected += [Rejection(indices[row], error) for row, error in written.refused]
        rejected.sort(key=lambda r: r.index)
        return BatchOutcome(written.accepted, rejected)

    async def write_samples(
        self, samples: SampleColumns | KeyedSamples, refused_before: int = 0
    ) -> SampleWrite:
        """Store validated samples (from any way in: JSON, OTLP, line protocol,
        remote_write), row-wise or keyed by series, their label values masked per
        series; return once committed. ``refused_before``: the items of the same
        body its decoder refused, counted with this write's outcome."""
        keyed = samples if isinstance(samples, KeyedSamples) else KeyedSamples.of(samples)
        keyed = mask_series_labels(self._masker, keyed)
        refused: list[tuple[int, str]] = []
        if len(keyed):
            refused = await self._store(IngestKind.CUSTOM, self._custom.write(keyed))
        accepted = len(keyed) - len(refused)
        self.stats.count(IngestKind.CUSTOM, accepted, len(refused) + refused_before)
        return SampleWrite(accepted, refused)

    async def _store(self, kind: IngestKind, write: Awaitable[T]) -> T:
        """Await one store write, timing it and counting it when it fails."""
        started = time.perf_counter()
        try:
            return await write
        except Exception:
            self.stats.write_errors[kind] += 1
            raise
        finally:
            self.stats.write_seconds[kind].observe(time.perf_counter() - started)
