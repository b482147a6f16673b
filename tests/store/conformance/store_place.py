"""Where a conformance test opens its stores: one fresh, empty storage URL and data
directory of one backend, and every store opened on it (closed after the test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from monitorx.core import FakeClock
from monitorx.store import Storage, open_storage

BACKENDS = ("duckdb", "duckdb-sql", "postgres", "influx")
PROJECT = "conformance"
# The embedded hot tier keeps this much before the clock: every point tests write.
HOT_RETENTION_S = 40 * 86400
HOT_MAX_POINTS = 1_000_000


@dataclass
class StorePlace:
    """A storage URL and data directory; ``backend`` is one of `BACKENDS`."""

    backend: str
    url: str
    data_dir: Path
    clock: FakeClock
    _open: list[tuple[Storage, str]] = field(default_factory=list)

    async def open(self, project_id: str = PROJECT) -> Storage:
        """Open a store of ``project_id`` here, as a server starting would."""
        store = open_storage(
            self.url,
            project_id,
            clock=self.clock,
            data_dir=self.data_dir,
            hot_retention_s=HOT_RETENTION_S,
            hot_max_points=0 if self.backend == "duckdb-sql" else HOT_MAX_POINTS,
        )
        await store.open()
        self._open.append((store, project_id))
        return store

    async def close(self, store: Storage) -> str:
        """Close ``store``, as a server stopping would; return its project."""
        index = next(i for i, (s, _) in enumerate(self._open) if s is store)
        _, project_id = self._open.pop(index)
        await store.close()
        return project_id

    async def reopen(self, store: Storage) -> Storage:
        """Close ``store`` and open its project again: a restarted server."""
        return await self.open(await self.close(store))

    async def close_all(self) -> None:
        while self._open:
            await self.close(self._open[-1][0])
