"""What the standard ways in (OTLP, line protocol, remote_write) hand to the store.

Until the storage of custom samples is merged, their routes end at
`monitorx.ingest.sample_sink.write_samples`, the marked integration point: the
`received` fixture stands in for it (the server runs in this process, in a thread)
and keeps every batch, so that a test can check what a real client's request
became. It can also play the store's refusals (``received.refuse``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from monitorx.core.samples import SampleColumns
from monitorx.ingest import sample_sink
from monitorx.ingest.sample_sink import RefusedRow
from monitorx.ingest.service import IngestService

Row = tuple[str, float, int, dict[str, str], str | None]


@dataclass
class ReceivedSamples:
    batches: list[SampleColumns] = field(default_factory=list)
    refuse: Callable[[str, dict[str, str]], str | None] = lambda name, labels: None
    """Plays the store: a reason to refuse the sample of that name and labels, or None."""

    @property
    def rows(self) -> list[Row]:
        return [
            row
            for b in self.batches
            for row in zip(b.name, b.value, b.ts_us, b.labels, b.unit, strict=True)
        ]

    def named(self, name: str) -> list[Row]:
        return [row for row in self.rows if row[0] == name]

    async def write(self, ingest: IngestService, columns: SampleColumns) -> list[RefusedRow]:
        refused = []
        kept = []
        for row, (name, labels) in enumerate(zip(columns.name, columns.labels, strict=True)):
            reason = self.refuse(name, labels)
            if reason:
                refused.append(RefusedRow(row, reason))
            else:
                kept.append(row)
        if kept:
            self.batches.append(columns.take(kept))
        return refused


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> ReceivedSamples:
    recorder = ReceivedSamples()
    monkeypatch.setattr(sample_sink, "write_samples", recorder.write)
    return recorder
