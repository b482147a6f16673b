"""A self-contained HTML drift report: one page, inline SVG charts, no scripts.

The server may be offline, so nothing is fetched: styles are inline and each
feature's distribution is an SVG bar chart of reference against current, as shares
of each set's non-null rows. Numerical features share `NUMERICAL_BINS` equal-width
bins over the combined range of both sets; categorical features show the
`MAX_CATEGORIES` most frequent categories of both sets together, the rest summed
as "(other)". Beside each chart: the test, its statistic, p-value, threshold and
verdict, as the DriftReport gives them.
"""

from __future__ import annotations

__all__ = ["MAX_CATEGORIES", "NUMERICAL_BINS", "Histogram", "histogram", "render_drift_report"]

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

NUMERICAL_BINS = 20
MAX_CATEGORIES = 15
_OTHER = "(other)"
# A category's name under its bars is cut to this many characters (full in the tooltip).
_LABEL_CHARS = 6
_WIDTH, _HEIGHT, _PAD = 560, 180, 24
_REFERENCE_COLOUR, _CURRENT_COLOUR = "#4c78a8", "#f58518"


class FeatureVerdict(Protocol):
    """What the report reads of a feature's drift result (`FeatureDrift`)."""

    @property
    def feature(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def stattest(self) -> str: ...
    @property
    def statistic(self) -> float | None: ...
    @property
    def p_value(self) -> float | None: ...
    @property
    def threshold(self) -> float: ...
    @property
    def drifted(self) -> bool: ...


class DriftVerdict(Protocol):
    """What the report reads of a `DriftReport`."""

    @property
    def model_id(self) -> str: ...
    @property
    def reference_rows(self) -> int: ...
    @property
    def current_rows(self) -> int: ...
    @property
    def dataset_drift(self) -> bool: ...
    @property
    def share_drifted(self) -> float: ...
    @property
    def features(self) -> Sequence[FeatureVerdict]: ...


@dataclass(frozen=True, slots=True)
class Histogram:
    """Bars of two distributions over the same bins: ``labels[i]`` names bin i (a
    category, or a numerical bin's ``[low, high)``), ``reference[i]`` and
    ``current[i]`` are its shares of each set's non-null rows. Numerical bins have
    an ``axis``, the two ends of their range, labelled instead of each bar."""

    labels: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    axis: tuple[str, str] | None = None


def _shares(counts: npt.NDArray[np.int64]) -> tuple[float, ...]:
    total = int(counts.sum())
    return tuple(0.0 if total == 0 else float(c) / total for c in counts)


def _finite(values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    numbers = np.asarray(values, dtype=np.float64)
    return numbers[np.isfinite(numbers)]


def histogram(kind: str, reference: npt.NDArray[Any], current: npt.NDArray[Any]) -> Histogram:
    """Reference and current binned alike (see the module docstring)."""
    if kind == "numerical":
        ref, cur = _finite(reference), _finite(current)
        both = np.concatenate([ref, cur])
        if both.size == 0:
            return Histogram((), (), ())
        low, high = float(both.min()), float(both.max())
        if low == high:
            high = low + 1.0
        edges = np.linspace(low, high, NUMERICAL_BINS + 1)
        labels = tuple(f"[{edges[i]:.4g}, {edges[i + 1]:.4g})" for i in range(NUMERICAL_BINS))
        ref_counts = np.histogram(ref, bins=edges)[0].astype(np.int64)
        cur_counts = np.histogram(cur, bins=edges)[0].astype(np.int64)
        axis = (f"{low:.4g}", f"{high:.4g}")
        return Histogram(labels, _shares(ref_counts), _shares(cur_counts), axis)
    ref_count = Counter(str(v) for v in reference.tolist() if v is not None)
    cur_count = Counter(str(v) for v in current.tolist() if v is not None)
    ranked = sorted((ref_count + cur_count).items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [name for name, _ in ranked[:MAX_CATEGORIES]]
    rest = [name for name, _ in ranked[MAX_CATEGORIES:]]

    def counts(counter: Counter[str]) -> npt.NDArray[np.int64]:
        bars = [counter[name] for name in shown]
        if rest:
            bars.append(sum(counter[name] for name in rest))
        return np.asarray(bars, dtype=np.int64)

    labels = tuple(shown + ([_OTHER] if rest else []))
    return Histogram(labels, _shares(counts(ref_count)), _shares(counts(cur_count)))


def _svg(bars: Histogram, title: str) -> str:
    if not bars.labels:
        return "<p class='empty'>no non-null values to chart</p>"
    top = max(max(bars.reference), max(bars.current)) or 1.0
    n = len(bars.labels)
    slot = (_WIDTH - 2 * _PAD) / n
    bar = max(slot / 2 - 1, 0.5)
    plot_h = _HEIGHT - 2 * _PAD
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{_HEIGHT}' "
        f"role='img' aria-label='{escape(title, quote=True)}'>",
        f"<line x1='{_PAD}' y1='{_HEIGHT - _PAD}' x2='{_WIDTH - _PAD}' "
        f"y2='{_HEIGHT - _PAD}' stroke='#999'/>",
    ]
    for i, label in enumerate(bars.labels):
        x = _PAD + i * slot
        for offset, share, colour, which in (
            (0.0, bars.reference[i], _REFERENCE_COLOUR, "reference"),
            (bar, bars.current[i], _CURRENT_COLOUR, "current"),
        ):
            h = plot_h * share / top
            parts.append(
                f"<rect x='{x + offset:.1f}' y='{_HEIGHT - _PAD - h:.1f}' width='{bar:.1f}' "
                f"height='{h:.1f}' fill='{colour}'><title>{escape(label)} {which}: "
                f"{share:.1%}</title></rect>"
            )
    if bars.axis is not None:
        low, high = escape(bars.axis[0]), escape(bars.axis[1])
        parts.append(f"<text x='{_PAD}' y='{_HEIGHT - 6}' font-size='10'>{low}</text>")
        parts.append(
            f"<text x='{_WIDTH - _PAD}' y='{_HEIGHT - 6}' font-size='10' "
            f"text-anchor='end'>{high}</text>"
        )
    else:
        for i, label in enumerate(bars.labels):
            short = label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"
            x = _PAD + (i + 0.5) * slot
            parts.append(
                f"<text x='{x:.1f}' y='{_HEIGHT - 8}' font-size='10' "
                f"text-anchor='middle'>{escape(short)}</text>"
            )
    parts.append(f"<text x='{_PAD}' y='{_PAD - 8}' font-size='10' fill='#666'>max {top:.1%}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
.drifted{color:#b00020;font-weight:bold}.stable{color:#1b7a1b}
.feature{margin:1.5em 0;padding-top:.5em;border-top:1px solid #eee}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
"""


def render_drift_report(
    report: DriftVerdict,
    reference: Mapping[str, npt.NDArray[Any]],
    current: Mapping[str, npt.NDArray[Any]],
    start: datetime,
    end: datetime,
) -> str:
    """The whole HTML page for a report over the window ``[start, end)``."""
    model = escape(report.model_id)
    verdict = "drift detected" if report.dataset_drift else "no dataset drift"
    rows = []
    sections = []
    for f in report.features:
        name = escape(f.feature)
        state = "drifted" if f.drifted else "stable"
        rows.append(
            f"<tr><td><a href='#f-{escape(f.feature, quote=True)}'>{name}</a></td>"
            f"<td>{escape(f.kind)}</td><td>{escape(f.stattest)}</td>"
            f"<td>{_number(f.statistic)}</td><td>{_number(f.p_value)}</td>"
            f"<td>{_number(f.threshold)}</td><td class='{state}'>{state}</td></tr>"
        )
        bars = histogram(f.kind, reference.get(f.feature, _EMPTY), current.get(f.feature, _EMPTY))
        sections.append(
            f"<section class='feature' id='f-{escape(f.feature, quote=True)}'>"
            f"<h3>{name} <small class='{state}'>{state}</small></h3>"
            f"<p>{escape(f.kind)} · {escape(f.stattest)} · statistic {_number(f.statistic)} · "
            f"p-value {_number(f.p_value)} · threshold {_number(f.threshold)}</p>"
            f"{_svg(bars, f'{f.feature}: reference against current')}</section>"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Drift report · {model}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Drift report · {model}</h1>"
        f"<p>Window {escape(start.isoformat())} to {escape(end.isoformat())} · "
        f"reference {report.reference_rows:,} rows · current {report.current_rows:,} rows</p>"
        f"<p class='{'drifted' if report.dataset_drift else 'stable'}'>{verdict}: "
        f"{report.share_drifted:.0%} of features drifted</p>"
        f"<p class='legend'><span style='background:{_REFERENCE_COLOUR}'></span>reference"
        f"<span style='background:{_CURRENT_COLOUR}'></span>current</p>"
        "<table><thead><tr><th>feature</th><th>kind</th><th>test</th><th>statistic</th>"
        "<th>p-value</th><th>threshold</th><th>verdict</th></tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table>{''.join(sections)}</body></html>"
    )


_EMPTY: npt.NDArray[Any] = np.array([], dtype=object)
