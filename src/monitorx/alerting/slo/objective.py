"""Service level objectives: the record, its error budget and burn-rate alerting.

An SLO says which share of a model's requests must be good over a rolling window:

- **availability** — a request is bad when it is an error. Each metric contributes
  its error share as API.md defines it (1.0 when ``error`` is true, else its
  ``error_rate``, else 0), so bad = error rate × count;
- **latency** — a request is bad when its latency is strictly above ``latency_ms``.

With ``target`` the good share wanted (0.999) and N requests in the window, the
**error budget** is the number of bad requests allowed, (1 − target)·N; the share
of it left is 1 − bad / allowed, which goes negative once the SLO is broken.

The **burn rate** over a window is the observed bad ratio divided by the allowed
one, (bad / N) / (1 − target): at burn rate 1 the budget lasts exactly the SLO
window, at 14.4 a 30-day budget is gone in 50 hours.

Alerting follows the SRE workbook (ch. 5, "Alerting on SLOs", multiwindow,
multi-burn-rate alerts). A condition fires when the burn rate is strictly above its
factor over **both** its long window (enough budget spent to matter) and its short
window (still burning now, so the alert resets soon after recovery). For a 30-day
SLO:

| alert  | factor | long window | short window | budget spent at the factor |
| ------ | ------ | ----------- | ------------ | -------------------------- |
| page   | 14.4   | 1h          | 5m           | 2 % in 1 h                 |
| page   | 6      | 6h          | 30m          | 5 % in 6 h                 |
| ticket | 3      | 1d          | 2h           | 10 % in 1 d                |
| ticket | 1      | 3d          | 6h           | 10 % in 3 d                |

Other SLO windows: both windows of every row are scaled by window / 30 days and
rounded to whole seconds (at least 1 s); the factors stay. Each condition then
still means "this share of the budget went in this share of the SLO window" — the
rule Pyrra uses (it scales its 28-day table the same way). Sloth instead keeps the
windows and recomputes the factors; for 28 days the two differ by under 7 %.
"""

from __future__ import annotations

__all__ = [
    "MAX_SLO_WINDOW_S",
    "MIN_SLO_WINDOW_S",
    "SLO",
    "WORKBOOK_SLO_WINDOW_S",
    "WORKBOOK_WINDOWS",
    "AlertKind",
    "BurnCondition",
    "BurnRateWindows",
    "BurnVerdict",
    "ErrorBudget",
    "Objective",
    "WindowCounts",
    "burn_rate",
    "check_within_retention",
    "duration_text",
    "evaluate_burn",
    "scaled_windows",
]

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from monitorx.alerting.slo.burn import (
    WORKBOOK_SLO_WINDOW_S,
    WORKBOOK_WINDOWS,
    AlertKind,
    BurnCondition,
    BurnRateWindows,
    BurnVerdict,
    ErrorBudget,
    WindowCounts,
    burn_rate,
    evaluate_burn,
    scaled_windows,
)
from monitorx.core import FieldError, Severity, ValidationError
from monitorx.core.identifiers import is_identifier
from monitorx.core.timeparse import parse_duration

MIN_SLO_WINDOW_S = 3600.0
MAX_SLO_WINDOW_S = 90 * 86400.0
_MAX_DESCRIPTION = 1024
_E = TypeVar("_E", bound=StrEnum)


class Objective(StrEnum):
    AVAILABILITY = "availability"
    LATENCY = "latency"


def duration_text(seconds: float) -> str:
    """``2592000`` → ``"30d"``: the largest of d, h, m, s that divides it exactly."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class SLO:
    """A per-model objective over a rolling window (JSON as in docs/alerts.md)."""

    id: str
    model_id: str
    objective: Objective
    target: float
    window_s: float
    latency_ms: float | None = None
    page_severity: Severity = Severity.CRITICAL
    ticket_severity: Severity = Severity.MEDIUM
    description: str = ""

    @property
    def allowed_bad_ratio(self) -> float:
        """1 − target: the share of requests that may be bad."""
        return 1.0 - self.target

    def windows(self) -> tuple[BurnRateWindows, ...]:
        return scaled_windows(self.window_s)

    def severity_of(self, kind: AlertKind) -> Severity:
        return self.page_severity if kind is AlertKind.PAGE else self.ticket_severity

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "model_id": self.model_id,
            "objective": self.objective.value,
            "target": self.target,
            "latency_ms": self.latency_ms,
            "window": duration_text(self.window_s),
            "page_severity": self.page_severity.value,
            "ticket_severity": self.ticket_severity.value,
            "description": self.description,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SLO:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: object) -> SLO:
        """Parse and check a decoded JSON object; a ValidationError names every bad field."""
        return _SLOParser(data).parse()


_KNOWN_FIELDS = frozenset(
    {
        "id",
        "model_id",
        "objective",
        "target",
        "latency_ms",
        "window",
        "page_severity",
        "ticket_severity",
        "description",
    }
)


class _SLOParser:
    """Reads one SLO object, collecting a FieldError for each bad field."""

    def __init__(self, data: object) -> None:
        if not isinstance(data, Mapping):
            raise ValidationError("expected a JSON object", "body")
        self._data: Mapping[str, Any] = data
        self._errors: list[FieldError] = []

    def parse(self) -> SLO:
        for name in sorted(set(self._data) - _KNOWN_FIELDS):
            self._fail(name, "unknown field")
        slo_id = self._identifier("id")
        model_id = self._identifier("model_id")
        objective = self._choice("objective", Objective, None)
        target = self._target()
        window_s = self._window()
        latency_ms = self._latency(objective)
        page = self._choice("page_severity", Severity, Severity.CRITICAL)
        ticket = self._choice("ticket_severity", Severity, Severity.MEDIUM)
        description = self._description()
        if (
            self._errors
            or slo_id is None
            or model_id is None
            or objective is None
            or target is None
            or window_s is None
            or page is None
            or ticket is None
        ):
            raise ValidationError(self._errors)
        return SLO(
            slo_id, model_id, objective, target, window_s, latency_ms, page, ticket, description
        )

    def _fail(self, field: str, message: str) -> None:
        self._errors.append(FieldError(field, message))

    def _identifier(self, field: str) -> str | None:
        value = self._data.get(field)
        if value is None:
            self._fail(field, "is required")
        elif not isinstance(value, str) or not is_identifier(value):
            self._fail(field, "must be 1–128 characters of A–Z a–z 0–9 . _ : -")
        else:
            return value
        return None

    def _choice(self, field: str, kind: type[_E], default: _E | None) -> _E | None:
        value = self._data.get(field)
        if value is None:
            if default is None:
                self._fail(field, "is required")
            return default
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            self._fail(field, f"must be one of {allowed}")
            return None

    def _number(self, field: str) -> float | None:
        value = self._data.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._fail(field, "must be a number")
            return None
        if not math.isfinite(value):
            self._fail(field, "must be finite")
            return None
        return float(value)

    def _target(self) -> float | None:
        if self._data.get("target") is None:
            self._fail("target", "is required")
            return None
        target = self._number("target")
        if target is not None and not 0 < target < 1:
            self._fail("target", "must be between 0 and 1, exclusive (0.999 for 99.9 %)")
            return None
        return target

    def _window(self) -> float | None:
        raw = self._data.get("window")
        if raw is None:
            self._fail("window", "is required")
            return None
        try:
            window_s = parse_duration(raw, "window")
        except ValidationError as exc:
            self._errors.extend(exc.errors)
            return None
        if not MIN_SLO_WINDOW_S <= window_s <= MAX_SLO_WINDOW_S:
            self._fail("window", "must be between 1h and 90d")
            return None
        return window_s

    def _latency(self, objective: Objective | None) -> float | None:
        if self._data.get("latency_ms") is None:
            if objective is Objective.LATENCY:
                self._fail("latency_ms", "is required for a latency objective")
            return None
        if objective is Objective.AVAILABILITY:
            self._fail("latency_ms", "applies to latency objectives only")
            return None
        latency = self._number("latency_ms")
        if latency is not None and latency <= 0:
            self._fail("latency_ms", "must be greater than 0")
            return None
        return latency

    def _description(self) -> str:
        value = self._data.get("description")
        if value is None:
            return ""
        if not isinstance(value, str):
            self._fail("description", "must be a string")
            return ""
        if len(value) > _MAX_DESCRIPTION:
            self._fail("description", f"must be at most {_MAX_DESCRIPTION} characters")
            return ""
        return value


def check_within_retention(slo: SLO, raw_retention_s: float) -> None:
    """Refuse an SLO whose longest burn-rate window reaches past the raw data kept.

    Burn rates are read from raw points; a window longer than raw retention would
    silently count fewer requests than it claims. (The SLO window itself may be
    longer: its budget is then measured over the retained part, and says so.)
    """
    longest = max(row.long_s for row in slo.windows())
    if longest > raw_retention_s:
        raise ValidationError(
            f"its longest burn-rate window ({duration_text(longest)}) is longer than the "
            f"raw data kept ({duration_text(raw_retention_s)}); shorten the window or raise "
            "MONITORX_RETENTION_RAW_S",
            "window",
        )
