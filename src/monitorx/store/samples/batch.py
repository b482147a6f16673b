"""The unit of the samples' write path: new series and their rows, as one batch."""

from __future__ import annotations

__all__ = [
    "LATEST_SAMPLE_US",
    "SAMPLE_ROLLUP_SCHEMA",
    "SAMPLE_SCHEMA",
    "KeyedSamples",
    "SampleBatch",
    "sample_table",
]

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from monitorx.core.samples import SampleColumns, SeriesInfo
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


I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def sample_table(
    series_ids: list[int] | I64, ts_us: list[int] | I64, values: list[float] | F64
) -> pa.Table:
    return pa.table(
        {
            "series_id": pa.array(np.asarray(series_ids, np.int64)),
            "ts": pa.array(np.asarray(ts_us, np.int64), pa.timestamp("us")),
            "value": pa.array(np.asarray(values, np.float64)),
        },
        schema=SAMPLE_SCHEMA,
    )


@dataclass(frozen=True, slots=True)
class KeyedSamples:
    """Validated samples whose series are given once: the name, labels and unit of
    each distinct series in the batch (its key), and per row the key's index, the
    time (epoch µs) and the value. What the series catalog takes: its work is per
    series, the rows stay arrays."""

    names: list[str]
    labels: list[dict[str, str]]
    units: list[str | None]
    key: I64
    ts_us: I64
    value: F64

    def __len__(self) -> int:
        return int(self.key.size)

    @classmethod
    def empty(cls) -> KeyedSamples:
        none = np.zeros(0, np.int64)
        return cls([], [], [], none, none, np.zeros(0))

    @classmethod
    def of(cls, columns: SampleColumns) -> KeyedSamples:
        """The samples of row-wise ``columns``: rows with the same name and the same
        labels dict (decoders hand a series' rows one dict) share a key; a series'
        unit is that of its first row."""
        keys: dict[tuple[str, int], int] = {}
        names: list[str] = []
        labels: list[dict[str, str]] = []
        units: list[str | None] = []
        index: list[int] = []
        for name, row_labels, unit in zip(columns.name, columns.labels, columns.unit, strict=True):
            ident = (name, id(row_labels))
            key = keys.get(ident)
            if key is None:
                key = keys[ident] = len(names)
                names.append(name)
                labels.append(row_labels)
                units.append(unit)
            index.append(key)
        return cls(
            names,
            labels,
            units,
            np.asarray(index, np.int64),
            np.asarray(columns.ts_us, np.int64),
            np.asarray(columns.value, np.float64),
        )

    def columns(self) -> SampleColumns:
        """The samples row by row (the rows of one key share its labels dict)."""
        keys = self.key.tolist()
        return SampleColumns(
            [self.names[k] for k in keys],
            self.value.tolist(),
            self.ts_us.tolist(),
            [self.labels[k] for k in keys],
            [self.units[k] for k in keys],
        )

    def take(self, rows: I64) -> KeyedSamples:
        """The samples of the given rows, in that order (the keys are kept)."""
        return KeyedSamples(
            self.names, self.labels, self.units, self.key[rows], self.ts_us[rows], self.value[rows]
        )


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Rows to append (``SAMPLE_SCHEMA``) and the series they open, which the store
    records in the same transaction."""

    table: pa.Table
    new_series: list[SeriesInfo] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.table.num_rows)
