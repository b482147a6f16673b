"""A DriftReport (API.md) as the SDK returns it: the server's JSON, with a table per
feature for pandas and a compact HTML rendering for notebooks and files."""

from __future__ import annotations

__all__ = ["DriftReport"]

import copy
import html
import importlib
from os import PathLike
from pathlib import Path
from typing import Any

from monitorx.sdk.errors import MissingDependency

# The columns of `DriftReport.to_pandas`, in API.md's order.
FEATURE_COLUMNS = ("feature", "kind", "stattest", "statistic", "p_value", "threshold", "drifted")


class DriftReport:
    """The drift of a model's records against its reference set.

    ``dataset_drift``, ``share_drifted``, ``features`` and the row counts read the
    server's report; :meth:`to_dict` returns all of it, :meth:`to_pandas` one row
    per feature, :meth:`save_html` and a notebook's display a compact table. (The
    server's full report with charts: ``client.drift_report_html(model_id, ...)``.)
    """

    def __init__(self, report: dict[str, Any]) -> None:
        self._report = report

    def __repr__(self) -> str:
        drifted = sum(1 for f in self.features if f.get("drifted"))
        return (
            f"DriftReport(model_id={self.model_id!r}, dataset_drift={self.dataset_drift}, "
            f"drifted={drifted}/{len(self.features)})"
        )

    @property
    def model_id(self) -> str:
        return str(self._report.get("model_id", ""))

    @property
    def dataset_drift(self) -> bool:
        """Whether at least half the features drifted (API.md)."""
        return bool(self._report.get("dataset_drift"))

    @property
    def share_drifted(self) -> float:
        return float(self._report.get("share_drifted") or 0.0)

    @property
    def reference_rows(self) -> int:
        return int(self._report.get("reference_rows") or 0)

    @property
    def current_rows(self) -> int:
        return int(self._report.get("current_rows") or 0)

    @property
    def features(self) -> list[dict[str, Any]]:
        """One item per feature: test, statistic, p-value, threshold, verdict."""
        return list(self._report.get("features") or [])

    def to_dict(self) -> dict[str, Any]:
        """The report as the server sent it (a copy)."""
        return copy.deepcopy(self._report)

    def to_pandas(self) -> Any:
        """A pandas DataFrame with one row per feature (and the prediction and target
        items, when the report has them), columns as API.md names them."""
        try:
            pandas = importlib.import_module("pandas")
        except ImportError:
            raise MissingDependency(
                "DriftReport.to_pandas() needs pandas: pip install pandas"
            ) from None
        return pandas.DataFrame(self._rows(), columns=list(FEATURE_COLUMNS))

    def _rows(self) -> list[dict[str, Any]]:
        rows = [dict(f) for f in self.features]
        for role in ("prediction", "target"):
            item = self._report.get(role)
            if isinstance(item, dict):
                rows.append({**item, "feature": item.get("feature") or role})
        return rows

    def to_html(self) -> str:
        """A compact, self-contained HTML table of the report."""
        verdict = "drift detected" if self.dataset_drift else "no dataset drift"
        cells = []
        for row in self._rows():
            style = ' style="background:#fde2e1"' if row.get("drifted") else ""
            values = "".join(f"<td>{_cell(row.get(name))}</td>" for name in FEATURE_COLUMNS)
            cells.append(f"<tr{style}>{values}</tr>")
        head = "".join(f"<th>{name}</th>" for name in FEATURE_COLUMNS)
        return (
            '<div class="monitorx-drift-report">'
            f"<p><b>{html.escape(self.model_id)}</b>: {verdict} — "
            f"{self.share_drifted:.0%} of features drifted; "
            f"{self.reference_rows:,} reference rows, {self.current_rows:,} current rows</p>"
            '<table border="1" style="border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(cells)}</tbody></table></div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | PathLike[str]) -> Path:
        """Write :meth:`to_html` as a whole HTML page to ``path``; returns the path."""
        target = Path(path)
        title = html.escape(f"Drift report: {self.model_id}")
        target.write_text(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>{self.to_html()}</body></html>\n",
            encoding="utf-8",
        )
        return target


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
