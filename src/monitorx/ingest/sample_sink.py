"""Where the samples decoded from OTLP, line protocol and remote_write go.

INTEGRATION POINT (issue 15). The storage of custom samples,
``IngestService.write_samples(columns) -> SampleWrite``, is being built beside the
protocol decoders. Until it is merged, `write_samples` below is the one call site
that the three protocol routes use: at the merge its body becomes a call of
``ingest.write_samples(columns)``, translated to `RefusedRow` (the rows the
store refused, e.g. past a metric's series limit), and the end-to-end tests switch
from recording what reached this function to reading it back through
``GET /api/v1/metrics/query`` (tests/server/test_protocols_readback.py is already
written that way, marked xfail until then).
"""

from __future__ import annotations

__all__ = ["RefusedRow", "write_samples"]

import logging
from dataclasses import dataclass

from monitorx.core.samples import SampleColumns
from monitorx.ingest.service import IngestService

logger = logging.getLogger("monitorx.ingest")


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """A row of a batch the store did not keep, and why (it names the metric)."""

    row: int
    reason: str


async def write_samples(ingest: IngestService, columns: SampleColumns) -> list[RefusedRow]:
    """Store a validated batch of samples durably; return the rows refused.

    INTEGRATION POINT: replace the body with the store's ``ingest.write_samples``."""
    del ingest
    if len(columns):
        logger.warning(
            "%d samples decoded but not stored: the storage of custom samples is not "
            "merged into this build yet",
            len(columns),
        )
    return []
