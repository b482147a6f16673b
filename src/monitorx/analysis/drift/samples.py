"""One column of reference and current, cleaned the way Evidently cleans it.

Evidently drops nulls (and, for numbers, ±inf) from each side before any test
runs, so every statistic here sees only the non-null values. `ColumnPair` holds
both cleaned sides and computes, once and only when a test asks, what several
tests share: the sorted numbers and the count of every distinct value.
"""

from __future__ import annotations

__all__ = ["ColumnKind", "ColumnPair", "ValueCounts", "column_kind", "non_null"]

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class ColumnKind(StrEnum):
    """A string column is categorical, a numeric one numerical (API.md)."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"


def column_kind(values: npt.NDArray[Any]) -> ColumnKind:
    """The kind of a column from its dtype: numbers and booleans are numerical,
    anything else (object arrays of str, unicode arrays) categorical."""
    if values.dtype.kind in "fiub":
        return ColumnKind.NUMERICAL
    return ColumnKind.CATEGORICAL


def non_null(values: npt.NDArray[Any], kind: ColumnKind) -> npt.NDArray[Any]:
    """The values a test sees: numbers without NaN and ±inf (as float64), or
    categories without None and NaN."""
    if kind is ColumnKind.NUMERICAL:
        numbers = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(numbers)
        return numbers if finite.all() else numbers[finite]
    if values.dtype.kind != "O":
        values = values.astype(object)
    # Element-wise comparisons run in numpy's loop; v == v is False for NaN only.
    keep = (values != None) & (values == values)  # noqa: E711
    cleaned: npt.NDArray[Any] = values[keep]
    return cleaned


@dataclass(frozen=True, slots=True)
class ValueCounts:
    """How often each distinct value occurs on each side; ``keys`` is the union of
    both sides' values, sorted (categories by their text)."""

    keys: tuple[Any, ...]
    reference: FloatArray
    current: FloatArray


class ColumnPair:
    """The non-null reference and current values of one column, and what tests
    derive from them, computed lazily and cached."""

    def __init__(self, reference: npt.NDArray[Any], current: npt.NDArray[Any], kind: ColumnKind):
        self.kind = kind
        self.reference = reference
        self.current = current
        self._sorted: tuple[FloatArray, FloatArray] | None = None
        self._counts: ValueCounts | None = None
        self._reference_unique: int | None = None

    @classmethod
    def from_raw(
        cls, reference: npt.NDArray[Any], current: npt.NDArray[Any], kind: ColumnKind
    ) -> ColumnPair:
        return cls(non_null(reference, kind), non_null(current, kind), kind)

    @property
    def sorted(self) -> tuple[FloatArray, FloatArray]:
        """Both sides sorted ascending (numerical columns only)."""
        if self._sorted is None:
            self._sorted = (np.sort(self.reference), np.sort(self.current))
        return self._sorted

    @property
    def counts(self) -> ValueCounts:
        """Counts of every value of the union of both sides."""
        if self._counts is None:
            self._counts = self._count_values()
        return self._counts

    @property
    def n_unique(self) -> int:
        """Distinct non-null values of reference and current together."""
        return len(self.counts.keys)

    @property
    def reference_unique(self) -> int:
        """Distinct non-null values of the reference alone."""
        if self._reference_unique is None:
            self._reference_unique = int(np.count_nonzero(self.counts.reference))
        return self._reference_unique

    def reference_has_more_unique_than(self, limit: int) -> bool:
        """Whether the reference has more than `limit` distinct values; answered from
        a prefix when it suffices, so wide numerical columns skip a full count."""
        if self._reference_unique is None and self.kind is ColumnKind.NUMERICAL:
            head = self.reference[: 16 * (limit + 1)]
            if len(np.unique(head)) > limit:
                return True
        return self.reference_unique > limit

    def union_has_more_unique_than(self, limit: int) -> bool:
        """Whether reference and current together have more than `limit` distinct
        values, answered from prefixes when they suffice."""
        if self._counts is None and self.kind is ColumnKind.NUMERICAL:
            head = np.concatenate(
                (self.reference[: 16 * (limit + 1)], self.current[: 16 * (limit + 1)])
            )
            if len(np.unique(head)) > limit:
                return True
        return self.n_unique > limit

    def _count_values(self) -> ValueCounts:
        if self.kind is ColumnKind.NUMERICAL:
            keys, inverse = np.unique(
                np.concatenate((self.reference, self.current)), return_inverse=True
            )
            n_ref = len(self.reference)
            ref = np.bincount(inverse[:n_ref], minlength=len(keys)).astype(np.float64)
            cur = np.bincount(inverse[n_ref:], minlength=len(keys)).astype(np.float64)
            return ValueCounts(tuple(keys.tolist()), ref, cur)
        ref_counts = Counter(self.reference.tolist())
        cur_counts = Counter(self.current.tolist())
        # Sorted, so that sums over categories, and so every statistic, do not
        # depend on the order of rows.
        ordered = sorted(ref_counts.keys() | cur_counts.keys(), key=_category_order)
        return ValueCounts(
            tuple(ordered),
            np.array([ref_counts.get(k, 0) for k in ordered], dtype=np.float64),
            np.array([cur_counts.get(k, 0) for k in ordered], dtype=np.float64),
        )


def _category_order(value: Any) -> tuple[str, str]:
    return (str(value), type(value).__name__)
