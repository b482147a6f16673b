"""Keeping pandas out of a serving process that never uses it.

pyarrow imports pandas (about 50 MiB resident, 0.7 s) the first time it builds an
array — only to ask whether its input is a pandas object. The server never hands
it one. `skip_pyarrow_pandas_check` lets that first question fail while pandas
cannot be imported: pyarrow remembers that there is no pandas to check for, and
goes on converting what it is given. Code that imports pandas itself later
(statsmodels, for forecasts) gets it as usual, and pyarrow still converts pandas
objects that it is handed explicitly (``Table.from_pandas``, ``to_pandas``).
"""

from __future__ import annotations

__all__ = ["skip_pyarrow_pandas_check"]

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _NoPandasYet(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ImportError("pandas is not needed to build arrays here")
        return None


def skip_pyarrow_pandas_check() -> None:
    """Call before anything builds an Arrow array; does nothing once pandas is in."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _NoPandasYet()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])  # pyarrow's one check for pandas, answered "none"
    finally:
        sys.meta_path.remove(finder)
