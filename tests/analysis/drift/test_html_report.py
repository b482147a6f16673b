"""The HTML drift report: self-contained, every feature charted with its verdict."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import numpy as np
import pytest

from monitorx.analysis.drift.html_report import (
    MAX_CATEGORIES,
    NUMERICAL_BINS,
    histogram,
    render_drift_report,
)
from tests.analysis.drift.verdicts import Feature, Report

START = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
END = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.sources += [v or "" for k, v in attrs if k in ("src", "href") and v]


def test_report_charts_every_feature_with_its_verdict_and_loads_nothing() -> None:
    rng = np.random.default_rng(1)
    reference = {
        "amount": rng.normal(0, 1, 500),
        "country": np.array(["fr", "de"] * 250, dtype=object),
    }
    current = {
        "amount": rng.normal(2, 1, 300),
        "country": np.array(["fr", "<script>"] * 150, dtype=object),
    }
    report = Report(
        "fraud-v3",
        500,
        300,
        False,
        0.5,
        (
            Feature("amount", "numerical", "ks", 0.62, 1e-30, 0.05, True),
            Feature("country", "categorical", "chisquare", None, 0.0, 0.05, False),
        ),
    )
    page = render_drift_report(report, reference, current, START, END)
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("svg") == 2
    assert "script" not in parser.tags  # the category "<script>" is escaped
    assert all(s.startswith("#") for s in parser.sources)  # no CDN, no external file
    assert "&lt;script&gt;" in page
    text = re.sub(r"<[^>]+>", " ", page)
    assert "fraud-v3" in text and "500 rows" in text and "300 rows" in text
    assert re.search(r"amount\s+numerical\s+ks\s+0\.62\s+1e-30\s+0\.05\s+drifted", text)
    assert re.search(r"country\s+categorical\s+chisquare\s+—\s+0\s+0\.05\s+stable", text)


def test_numerical_bins_cover_both_sets_and_shares_sum_to_one() -> None:
    bars = histogram("numerical", np.array([0.0, 0.4, np.nan]), np.array([9.8, 10.0]))
    assert len(bars.labels) == NUMERICAL_BINS
    assert sum(bars.reference) == pytest.approx(1.0)
    assert sum(bars.current) == pytest.approx(1.0)
    assert bars.reference[0] == 1.0  # 0 and 0.4 fall in the first of 20 bins over [0, 10]
    assert bars.labels[0] == "[0, 0.5)"
    assert bars.axis == ("0", "10")
    assert bars.current[-1] == 1.0


def test_categorical_bars_keep_the_most_frequent_and_sum_the_rest() -> None:
    categories = [f"c{i:02d}" for i in range(MAX_CATEGORIES + 5)]
    reference = np.array(categories + ["c00"] * 10, dtype=object)
    current = np.array(["c00", None], dtype=object)
    bars = histogram("categorical", reference, current)
    assert bars.labels[0] == "c00"
    assert bars.labels[-1] == "(other)"
    assert len(bars.labels) == MAX_CATEGORIES + 1
    assert bars.reference[-1] == pytest.approx(5 / len(reference))
    assert bars.current[0] == 1.0  # nulls are not a category
    assert bars.axis is None  # categories are labelled one by one
