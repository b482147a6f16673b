"""Numbers from JSON and YAML bodies: finite, within float range, named when not."""

from __future__ import annotations

__all__ = ["MAX_MEASURED", "finite_number"]

import math

from monitorx.core.errors import ValidationError

MAX_MEASURED = 1e100
"""The largest magnitude a measured value (an inference metric's numbers, a custom
sample) may have. Beyond it no real measurement lies, and the store's sums over a
window (and sums of squares) of such values would overflow a double: a value that
stored would break every later aggregate of its model or series, so it is refused."""


def finite_number(value: object, name: str) -> float:
    """``value`` as a float; refuses non-numbers (booleans included), NaN,
    infinities and integers past the float range (JSON and YAML read ``1e999`` as
    inf, a 400-digit integer as int), naming the field ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("expected a number", name)
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError("must be a finite number", name) from None
    if not math.isfinite(number):
        raise ValidationError("must be a finite number", name)
    return number
