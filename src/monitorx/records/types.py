"""The types of logged records as analyses read them, and the reading interface.

The records store (`records.store.RecordStore`) provides `LabelledSource`; the
evaluate stage (quality checks, scheduled drift runs) depends on the protocol only.
"""

from __future__ import annotations

__all__ = [
    "LABEL_COLUMN",
    "PREDICTION_COLUMN",
    "TARGET_COLUMNS",
    "Columns",
    "LabelledRows",
    "LabelledSource",
    "RecordSource",
    "WindowRecords",
]

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

PREDICTION_COLUMN = "prediction"
"""The column of a model's outputs, in records, reference sets and analyses."""
LABEL_COLUMN = "label"
TARGET_COLUMNS = (LABEL_COLUMN, "target")
"""Columns of a reference set or given rows that hold the ground truth, not features."""

Columns = Mapping[str, npt.NDArray[Any]]
"""Column name → 1-D array: float64 with NaN for null, or objects (str or None)."""


@dataclass(frozen=True, slots=True)
class WindowRecords:
    """The records of a window that an analysis uses, and how many were logged."""

    features: dict[str, npt.NDArray[Any]]
    """Feature columns (`Columns`), as logged, of the rows used."""
    prediction: npt.NDArray[Any] | None
    label: npt.NDArray[Any] | None
    """Each row's label joined by request id (null where none arrived); None when
    not asked for or no label matched."""
    request_id: npt.NDArray[Any]
    ts_us: npt.NDArray[np.int64]
    rows_seen: int
    """Records logged in the window."""

    @property
    def rows_used(self) -> int:
        return len(self.ts_us)


@dataclass(frozen=True, slots=True)
class LabelledRows:
    """Records that have a label: when each was logged, its label and prediction."""

    ts_us: npt.NDArray[np.int64]
    labels: npt.NDArray[Any]
    predictions: npt.NDArray[Any]

    def __len__(self) -> int:
        return len(self.ts_us)


class RecordSource(Protocol):
    """Where the checks read a model's reference and records (the records store)."""

    async def reference_columns(self, model_id: str) -> Columns | None: ...

    async def window_columns(self, model_id: str, start: datetime, end: datetime) -> Columns: ...


class LabelledSource(RecordSource, Protocol):
    """The records store, with labels joined to records by ``request_id``."""

    async def labelled_rows(
        self, model_id: str, start: datetime, end: datetime
    ) -> LabelledRows: ...
