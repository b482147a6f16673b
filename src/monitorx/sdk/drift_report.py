"""A DriftReport (API.md) as the SDK returns it: the server's JSON, with a table per
feature for pandas, and for notebooks and files the server's own HTML report (the
page of ``GET /models/{id}/drift/report.html``, charts of every feature) or, where
that page cannot be had, a compact table."""

from __future__ import annotations

__all__ = ["DriftReport"]

import copy
import html
import importlib
import logging
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

from monitorx.sdk.errors import MissingDependency

logger = logging.getLogger("monitorx.sdk")

# The columns of `DriftReport.to_pandas`, in API.md's order.
FEATURE_COLUMNS = ("feature", "kind", "stattest", "statistic", "p_value", "threshold", "drifted")


class DriftReport:
    """The drift of a model's records against its reference set.

    ``dataset_drift``, ``share_drifted``, ``features`` and the row counts read the
    server's report; :meth:`to_dict` returns all of it, :meth:`to_pandas` one row
    per feature. A notebook displays, and :meth:`save_html` writes, the server's
    HTML report of the same records (fetched once, when first needed, by the
    synchronous client's ``analyze`` without options; the page uses the model's
    drift schedule options); otherwise, or when the server cannot be reached then,
    a compact table (:meth:`to_html`).
    """

    def __init__(self, report: dict[str, Any]) -> None:
        self._report = report
        self._load_page: Callable[[], str] | None = None
        self._page: str | None = None

    def attach_page(self, load: Callable[[], str]) -> None:
        """Where :meth:`page` comes from: called once, when first needed."""
        self._load_page, self._page = load, None

    def page(self) -> str | None:
        """The server's HTML report of these records, or None where it cannot be had."""
        if self._page is None and self._load_page is not None:
            try:
                self._page = self._load_page()
            except Exception as exc:  # a display must not raise: fall back to the table
                logger.warning("the drift report's HTML page could not be fetched: %s", exc)
            self._load_page = None
        return self._page

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
        page = self.page()
        if page is None:
            return self.to_html()
        # In a frame of its own: the page's styles stay out of the notebook's.
        return (
            f'<iframe srcdoc="{html.escape(page, quote=True)}" '
            'style="width:100%;height:640px;border:0" sandbox></iframe>'
        )

    def save_html(self, path: str | PathLike[str]) -> Path:
        """Write the report as one HTML page to ``path`` (see the class); returns it."""
        target = Path(path)
        page = self.page()
        if page is None:
            title = html.escape(f"Drift report: {self.model_id}")
            page = (
                f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
                f"</head><body>{self.to_html()}</body></html>\n"
            )
        target.write_text(page, encoding="utf-8")
        return target


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
