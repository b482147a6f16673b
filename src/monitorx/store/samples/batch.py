"""The unit of the samples' write path: new series and their rows, as one batch."""

from __future__ import annotations

__all__ = [
    "LATEST_SAMPLE_US",
    "SAMPLE_ROLLUP_SCHEMA",
    "SAMPLE_SCHEMA",
    "SampleBatch",
    "sample_table",
]

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from monitorx.core.samples import SeriesInfo
from monitorx.core.timeparse import MAX_EPOCH_S

LATEST_SAMPLE_US = (int(MAX_EPOCH_S) + 1) * 1_000_000 - 1
"""9999-12-31T23:59:59.999999Z: the last sample time API.md admits."""

SAMPLE_SCHEMA = pa.schema(
    [("series_id", pa.int64()), ("ts", pa.timestamp("us")), ("value", pa.float64())]
)
"""The rows of samples: one value of one series at one time."""

SAMPLE_ROLLUP_SCHEMA = pa.schema(
    [
        ("series_id", pa.int64()),
        ("bucket", pa.timestamp("us")),
        ("count", pa.int64()),
        ("sum", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("last", pa.float64()),
        ("last_ts", pa.timestamp("us")),
        ("increase", pa.float64()),
        ("sketch", pa.binary()),
    ]
)
"""A series over one bucket: count, sum, min, max, the last value and when, the
increase of a counter within the bucket (resets counted, as Prometheus does), and a
KLL quantile sketch."""


def sample_table(series_ids: list[int], ts_us: list[int], values: list[float]) -> pa.Table:
    return pa.table(
        {
            "series_id": pa.array(np.asarray(series_ids, np.int64)),
            "ts": pa.array(np.asarray(ts_us, np.int64), pa.timestamp("us")),
            "value": pa.array(np.asarray(values, np.float64)),
        },
        schema=SAMPLE_SCHEMA,
    )


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Rows to append (``SAMPLE_SCHEMA``) and the series they open, which the store
    records in the same transaction."""

    table: pa.Table
    new_series: list[SeriesInfo] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.table.num_rows)
