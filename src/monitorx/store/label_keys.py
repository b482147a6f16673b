"""The label keys of inference metrics seen recently: their tags' keys.

`GET /metrics/names` lists, for each metric, the label keys a query can match and
group on. A custom metric's are in its series catalog; an inference metric's are
its tags, which are per point: this tracker keeps each key with when it was last
seen, fed with every committed batch (the distinct tag sets of a batch, parsed once
each), and filled at start from the hour rollups of the last week.
"""

from __future__ import annotations

__all__ = ["InferenceLabelKeys"]

import threading
from datetime import datetime, timedelta

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core import Clock, MetricColumns
from monitorx.core.timeparse import to_epoch_us
from monitorx.store.queries import Resolution
from monitorx.store.storage import LifecycleStore

WINDOW = timedelta(days=7)


class InferenceLabelKeys:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[str, int] = {}  # key → last seen, epoch µs
        self._lock = threading.Lock()

    async def load(self, storage: LifecycleStore) -> None:
        now = self._clock.now()
        rows = await storage.read_rollups(Resolution.HOUR, now - WINDOW, now)
        self._note(rows.column("tags").unique().to_pylist(), to_epoch_us(now - WINDOW))

    def observe(self, batch: pa.Table | MetricColumns) -> None:
        """A committed batch's tag keys (the evaluator's committed-batch listener)."""
        if isinstance(batch, MetricColumns):
            texts = set(batch.tags_json)
        else:
            texts = set(pc.unique(batch.column("tags")).to_pylist())
        self._note(list(texts), to_epoch_us(self._clock.now()))

    def _note(self, texts: list[str | None], at_us: int) -> None:
        keys: set[str] = set()
        for text in texts:
            if text and text != "{}":
                keys.update(str(k) for k in orjson.loads(text))
        if keys:
            with self._lock:
                for key in keys:
                    self._seen[key] = max(at_us, self._seen.get(key, at_us))

    def keys(self, since: datetime | None = None) -> list[str]:
        cutoff = to_epoch_us(since or self._clock.now() - WINDOW)
        with self._lock:
            return sorted(k for k, at in self._seen.items() if at >= cutoff)
