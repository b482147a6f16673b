"""The records of a window as an analysis reads them: numpy columns of the rows drawn,
their labels joined by request id, and how many rows were logged."""

from __future__ import annotations

__all__ = ["join_labels", "present_mask", "window_records"]

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.ingest.feature_tables import table_columns
from monitorx.ingest.records import FEATURE_PREFIX, RecordColumns
from monitorx.records.types import WindowRecords


def present_mask(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which values are not null (NaN for numbers, None for objects)."""
    if values.dtype == np.float64:
        present: npt.NDArray[np.bool_] = ~np.isnan(values)
        return present
    return np.array([v is not None for v in values], dtype=bool)


def join_labels(labels: pa.Table, request_ids: pa.Array) -> pa.Array:
    """For each request id, the last label given for it (keys are read in order)."""
    newest_first = labels.take(pa.array(np.arange(labels.num_rows - 1, -1, -1)))
    ids = newest_first.column(RecordColumns.REQUEST_ID).combine_chunks()
    found = pc.index_in(request_ids, value_set=ids)
    return newest_first.column(RecordColumns.LABEL).combine_chunks().take(found)


def window_records(table: pa.Table, seen: int) -> WindowRecords:
    """The drawn rows as numpy columns."""
    features = {
        name.removeprefix(FEATURE_PREFIX): table.column(name)
        for name in table.column_names
        if name.startswith(FEATURE_PREFIX)
    }
    names = list(features)
    columns = table_columns(pa.table(list(features.values()), names=names)) if names else {}
    prediction = None
    if RecordColumns.PREDICTION in table.column_names:
        prediction = table_columns(table.select([RecordColumns.PREDICTION]))[
            RecordColumns.PREDICTION
        ]
    request_id = (
        table.column(RecordColumns.REQUEST_ID).to_numpy(zero_copy_only=False)
        if RecordColumns.REQUEST_ID in table.column_names
        else np.array([], dtype=object)
    )
    ts = (
        table.column(RecordColumns.TS_US).to_numpy().astype(np.int64)
        if RecordColumns.TS_US in table.column_names
        else np.array([], dtype=np.int64)
    )
    return WindowRecords(columns, prediction, None, request_id, ts, seen)
