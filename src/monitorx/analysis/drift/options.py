"""What a drift analysis is asked to do: the preset, tests and thresholds, and the
explicit choices behind the binned statistics.

A preset fills every choice the request leaves out:

====================  ==========================  ===========================
choice                ``evidently`` (default)     ``nannyml``
====================  ==========================  ===========================
test per column       API.md's automatic choice   ``jensenshannon``
threshold             the test's default          mean + 3σ over 10 reference
                                                  chunks (``chisquare``: 0.05)
``binning``           ``sturges_combined``        ``doane_reference``
``per_value_max_unique``  20                      0
``empty_bin_fill``    ``"evidently"``             ``"evidently"``
``log_base``          e                           2
``js_output``         ``distance``                ``distance``
``wasserstein_norm``  ``reference_std``           ``none``
====================  ==========================  ===========================
"""

from __future__ import annotations

__all__ = ["DriftOptions", "Preset"]

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from monitorx.analysis.drift.binning import EVIDENTLY_FILL, Binning, BinningRule, EmptyBinFill
from monitorx.analysis.drift.outcome import JsOutput, TestParameters, WassersteinNorm
from monitorx.analysis.drift.registry import stattest_by_name
from monitorx.core import ValidationError
from monitorx.core.numbers import finite_number

_Enum = TypeVar("_Enum", bound=StrEnum)


class Preset(StrEnum):
    EVIDENTLY = "evidently"
    NANNYML = "nannyml"


# NannyML computes KS and Wasserstein exactly below this many reference rows and
# estimates them from bins above.
NANNYML_EXACT_BELOW_ROWS = 10_000
# Each preset's values for the choices a request leaves out.
_PRESET_PARAMETERS = {
    Preset.EVIDENTLY: TestParameters(),
    Preset.NANNYML: TestParameters(
        binning=Binning(rule=BinningRule.DOANE_REFERENCE, per_value_max_unique=0),
        log_base=2.0,
        wasserstein_norm=WassersteinNorm.NONE,
        estimate_from_rows=NANNYML_EXACT_BELOW_ROWS,
    ),
}
# The largest equal-width bin count and MMD sample a request may ask for.
MAX_BINS = 10_000
MAX_MMD_ROWS = 5_000

_FIELDS = (
    "preset",
    "stattest",
    "threshold",
    "per_column_stattest",
    "per_column_threshold",
    "binning",
    "bins",
    "per_value_max_unique",
    "empty_bin_fill",
    "log_base",
    "js_output",
    "wasserstein_norm",
    "mmd_max_rows",
)


@dataclass(frozen=True, slots=True)
class DriftOptions:
    """Options of one analysis; ``None`` takes the preset's value.

    ``stattest`` and ``threshold`` apply to every column; a ``stattest`` that cannot
    test a column's kind (``ks`` on a categorical column) leaves that column to the
    preset's choice, and ``threshold`` then does not apply to it either.
    ``per_column_stattest`` and ``per_column_threshold`` win over both, and a
    per-column test must fit its column. ``empty_bin_fill`` is ``"evidently"`` or
    a share in [0, 1); ``log_base`` is a number above 1 (``None``: the preset's,
    e for Evidently)."""

    preset: Preset = Preset.EVIDENTLY
    stattest: str | None = None
    threshold: float | None = None
    per_column_stattest: Mapping[str, str] = field(default_factory=dict)
    per_column_threshold: Mapping[str, float] = field(default_factory=dict)
    binning: BinningRule | None = None
    bins: int | None = None
    per_value_max_unique: int | None = None
    empty_bin_fill: float | str | None = None
    log_base: float | None = None
    js_output: JsOutput | None = None
    wasserstein_norm: WassersteinNorm | None = None
    mmd_max_rows: int | None = None

    def __post_init__(self) -> None:
        # Plain strings ("nannyml", "equal_width") become the enums they name.
        for name, kind in (
            ("preset", Preset),
            ("binning", BinningRule),
            ("js_output", JsOutput),
            ("wasserstein_norm", WassersteinNorm),
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                object.__setattr__(self, name, _enum(kind, value, name))
        if self.stattest is not None:
            stattest_by_name(self.stattest, "stattest")
        for column, name in self.per_column_stattest.items():
            stattest_by_name(name, f"per_column_stattest.{column}")
        if self.threshold is not None:
            _check_threshold(self.threshold, "threshold")
        for column, value in self.per_column_threshold.items():
            _check_threshold(value, f"per_column_threshold.{column}")
        if self.bins is not None and not 1 <= self.bins <= MAX_BINS:
            raise ValidationError(f"must be an integer from 1 to {MAX_BINS}", "bins")
        if self.per_value_max_unique is not None and self.per_value_max_unique < 0:
            raise ValidationError("must be 0 or more", "per_value_max_unique")
        fill = self.empty_bin_fill
        if (fill is not None and fill != EVIDENTLY_FILL) and (
            isinstance(fill, str) or not 0.0 <= fill < 1.0
        ):
            raise ValidationError('must be "evidently" or a share in [0, 1)', "empty_bin_fill")
        if self.log_base is not None and not (math.isfinite(self.log_base) and self.log_base > 1.0):
            raise ValidationError("must be a number above 1", "log_base")
        if self.mmd_max_rows is not None and not 2 <= self.mmd_max_rows <= MAX_MMD_ROWS:
            raise ValidationError(f"must be an integer from 2 to {MAX_MMD_ROWS}", "mmd_max_rows")

    def parameters(self) -> TestParameters:
        """The preset's parameters with this request's choices laid over them."""
        base = _PRESET_PARAMETERS[self.preset]
        fill = self.empty_bin_fill
        binning = Binning(
            rule=self.binning or base.binning.rule,
            bins=self.bins if self.bins is not None else base.binning.bins,
            per_value_max_unique=(
                self.per_value_max_unique
                if self.per_value_max_unique is not None
                else base.binning.per_value_max_unique
            ),
            empty_bin_fill=(
                base.binning.empty_bin_fill
                if fill is None
                else EmptyBinFill(None if fill == EVIDENTLY_FILL else float(fill))
            ),
        )
        return TestParameters(
            binning=binning,
            log_base=self.log_base if self.log_base is not None else base.log_base,
            js_output=self.js_output or base.js_output,
            wasserstein_norm=self.wasserstein_norm or base.wasserstein_norm,
            mmd_max_rows=self.mmd_max_rows or base.mmd_max_rows,
            seed=base.seed,
            estimate_from_rows=base.estimate_from_rows,
            estimate_bins=base.estimate_bins,
        )

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> DriftOptions:
        """Options from a request body; keys this class does not know (``start``,
        ``current``, …) are the caller's. A ValidationError names the bad field."""
        values: dict[str, Any] = {k: body[k] for k in _FIELDS if body.get(k) is not None}
        if "preset" in values:
            values["preset"] = _enum(Preset, values["preset"], "preset")
        for name in ("stattest",):
            if name in values and not isinstance(values[name], str):
                raise ValidationError("must be a test name", name)
        for name in ("threshold", "log_base"):
            if name in values:
                values[name] = finite_number(values[name], name)
        for name in ("bins", "per_value_max_unique", "mmd_max_rows"):
            if name in values:
                values[name] = _integer(values[name], name)
        if "empty_bin_fill" in values and values["empty_bin_fill"] != EVIDENTLY_FILL:
            values["empty_bin_fill"] = finite_number(values["empty_bin_fill"], "empty_bin_fill")
        if "binning" in values:
            values["binning"] = _enum(BinningRule, values["binning"], "binning")
        if "js_output" in values:
            values["js_output"] = _enum(JsOutput, values["js_output"], "js_output")
        if "wasserstein_norm" in values:
            values["wasserstein_norm"] = _enum(
                WassersteinNorm, values["wasserstein_norm"], "wasserstein_norm"
            )
        if "per_column_stattest" in values:
            values["per_column_stattest"] = _mapping(
                values["per_column_stattest"], "per_column_stattest", _text
            )
        if "per_column_threshold" in values:
            values["per_column_threshold"] = _mapping(
                values["per_column_threshold"], "per_column_threshold", finite_number
            )
        return cls(**values)


def _check_threshold(value: float, name: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValidationError("must be a finite number, 0 or more", name)


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("must be an integer", name)
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("must be a test name", name)
    return value


def _enum(kind: type[_Enum], value: object, name: str) -> _Enum:
    for member in kind:
        if member.value == value:
            return member
    allowed = ", ".join(repr(m.value) for m in kind)
    raise ValidationError(f"must be one of {allowed}", name)


def _mapping(value: object, name: str, parse: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError("must be an object of column name to value", name)
    return {str(k): parse(v, f"{name}.{k}") for k, v in value.items()}
