"""Custom metrics: any named series with labels, beside the inference metrics.

A `Sample` is one value of one series at one time. A series is a name and a label
set; it is kept once (`SeriesInfo`, keyed by `series_id`) and its samples refer
to it by id, so that labels are not repeated with every point. `SampleColumns` is
the write path's unit: a batch, column by column.

Names follow API.md: 1–200 of ``A–Z a–z 0–9 _ : .``, starting with a letter; the
inference metric names are reserved. Labels follow the rules of tags.
"""

from __future__ import annotations

__all__ = [
    "MAX_LABELS",
    "MAX_LABEL_KEY",
    "MAX_LABEL_VALUE",
    "MAX_SAMPLE_NAME",
    "MAX_UNIT",
    "RESERVED_SAMPLE_NAMES",
    "SAMPLE_NAME_PATTERN",
    "Labels",
    "SampleColumns",
    "SeriesInfo",
    "canonical_labels",
    "sample_name_from",
    "series_id",
]

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from monitorx.core.metrics import MetricName

SAMPLE_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_:.]{0,199}$"
MAX_SAMPLE_NAME = 200
MAX_UNIT = 32
# Labels follow the rules of an inference metric's tags (API.md).
MAX_LABELS = 64
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 1024
RESERVED_SAMPLE_NAMES = frozenset(m.value for m in MetricName)
"""The inference metric names: a sample named so is refused (they are queried as
inference metrics, with their tags and ``model_id`` as labels)."""

_NOT_NAME = re.compile(r"[^A-Za-z0-9_:.]")

Labels = Mapping[str, str]


def canonical_labels(labels: Labels) -> str:
    """A label set as one text, the same for the same set whatever its order: JSON
    with sorted keys. The store keeps a series' labels in this form."""
    return orjson.dumps(dict(sorted(labels.items()))).decode()


def series_id(name: str, labels_text: str) -> int:
    """The stable 64-bit id of the series ``name`` + `canonical_labels` (a signed
    integer, as BIGINT columns hold it). Stable across processes and restarts."""
    digest = hashlib.blake2b(f"{name}\x00{labels_text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def sample_name_from(raw: str) -> str:
    """A name from another system (an OTLP instrument, a line-protocol measurement,
    a Prometheus metric) as a valid sample name: other characters become ``_``, and
    a name that does not start with a letter gets an ``m_`` in front."""
    name = _NOT_NAME.sub("_", raw)
    if not name or not name[0].isalpha():
        name = f"m_{name}"
    return name[:MAX_SAMPLE_NAME]


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One series: its id, name, labels and unit (None when none was given)."""

    series_id: int
    name: str
    labels: dict[str, str]
    unit: str | None = None


@dataclass(slots=True)
class SampleColumns:
    """A batch of samples, validated, column by column (``ts_us``: epoch µs)."""

    name: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)
    unit: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.name)

    def append(
        self, name: str, value: float, ts_us: int, labels: dict[str, str], unit: str | None
    ) -> None:
        self.name.append(name)
        self.value.append(value)
        self.ts_us.append(ts_us)
        self.labels.append(labels)
        self.unit.append(unit)

    def take(self, rows: list[int]) -> SampleColumns:
        """The batch of the given rows, in that order."""
        return SampleColumns(
            [self.name[i] for i in rows],
            [self.value[i] for i in rows],
            [self.ts_us[i] for i in rows],
            [self.labels[i] for i in rows],
            [self.unit[i] for i in rows],
        )
