"""The project's SLOs: stored as documents of kind ``slo``, served from memory.

Every change is stored first, then handed to the `SLOEvaluator`, so the next
evaluation sees it; an SLO that is deleted or moved to another model has its open
alert resolved at once. Stored SLOs come back on `load` (at start-up) in the order
they were created.
"""

from __future__ import annotations

__all__ = ["SLO_DOCUMENT_KIND", "SLOCatalog"]

import asyncio
import logging

from monitorx.alerting.slo.evaluation import SLOEvaluator
from monitorx.alerting.slo.objective import SLO, check_within_retention
from monitorx.core import Conflict, ValidationError
from monitorx.store import DocumentStore
from monitorx.store.config_changes import in_held_order

logger = logging.getLogger("monitorx.alerting.slo.objective")

SLO_DOCUMENT_KIND = "slo"


class SLOCatalog:
    """Create, replace, delete and list SLOs; keeps the evaluator's set current."""

    def __init__(
        self, storage: DocumentStore, evaluator: SLOEvaluator, raw_retention_s: float | None = None
    ) -> None:
        self._storage = storage
        self._evaluator = evaluator
        self._raw_retention_s = raw_retention_s
        self._slos: dict[str, SLO] = {}
        self._lock = asyncio.Lock()

    @property
    def evaluator(self) -> SLOEvaluator:
        return self._evaluator

    async def load(self) -> None:
        """Read the stored SLOs (at start-up, and again when another replica changed
        them); one that no longer parses is logged and skipped."""
        # Under the lock: a change made here meanwhile is not undone by an older read.
        async with self._lock:
            slos: dict[str, SLO] = {}
            for key, body in await self._storage.list_documents(SLO_DOCUMENT_KIND):
                try:
                    slos[key] = SLO.from_json(body)
                except (ValidationError, ValueError) as exc:  # ValueError: not JSON at all
                    logger.error("stored SLO %r is not valid and is skipped: %s", key, exc)
            self._slos = in_held_order(self._slos, slos)
            self._evaluator.set_slos(self._slos.values())

    def get(self, slo_id: str) -> SLO | None:
        return self._slos.get(slo_id)

    def all(self) -> list[SLO]:
        """Every SLO, oldest created first."""
        return list(self._slos.values())

    def check(self, slo: SLO) -> None:
        """Raise ValidationError if the SLO's burn windows reach past raw retention."""
        if self._raw_retention_s is not None:
            check_within_retention(slo, self._raw_retention_s)

    async def create(self, slo: SLO) -> None:
        """Add a new SLO; Conflict if its id exists."""
        self.check(slo)
        async with self._lock:
            stored = await self._storage.get_document(SLO_DOCUMENT_KIND, slo.id)
            if slo.id in self._slos or stored is not None:
                raise Conflict(f"SLO {slo.id!r} already exists; use PUT /api/v1/slos/{slo.id}")
            await self._storage.put_document(SLO_DOCUMENT_KIND, slo.id, slo.to_json())
            self._slos[slo.id] = slo
            self._evaluator.set_slos(self._slos.values())

    async def put(self, slo: SLO) -> bool:
        """Create or replace; True when it was created."""
        self.check(slo)
        async with self._lock:
            created = slo.id not in self._slos
            await self._storage.put_document(SLO_DOCUMENT_KIND, slo.id, slo.to_json())
            self._slos[slo.id] = slo
            self._evaluator.set_slos(self._slos.values())
        await self._evaluator.resolve_orphans()
        return created

    async def delete(self, slo_id: str) -> bool:
        """Remove an SLO and resolve its open alert; False when there was none."""
        async with self._lock:
            if slo_id not in self._slos:
                return False
            await self._storage.delete_document(SLO_DOCUMENT_KIND, slo_id)
            del self._slos[slo_id]
            self._evaluator.set_slos(self._slos.values())
        await self._evaluator.resolve_orphans()
        return True
