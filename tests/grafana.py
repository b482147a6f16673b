"""The Grafana dashboard of deploy/grafana, as its tests read it: panels, queries,
and the metric names a PromQL query selects."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "monitorx-dashboard.json"

_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACES = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without"}
_FUNCTION = re.compile(r"\s*\(")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, label names
    or values, ranges or grouping labels)."""
    bare = _GROUPING.sub(" ", _BRACES.sub(" ", _STRING.sub(" ", expr)))
    names = set()
    for found in _NAME.finditer(bare):
        if found[0] in _KEYWORDS or _FUNCTION.match(bare, found.end()):
            continue
        names.add(found[0])
    return names


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found += panel.get("panels", [])
    return found


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """``(panel title, PromQL)`` of every panel target."""
    return [(p["title"], t["expr"]) for p in panels(dashboard) for t in p.get("targets", [])]


def queries(dashboard: dict[str, Any]) -> list[str]:
    """The PromQL of every panel target and the selector of every variable's
    ``label_values()``."""
    exprs = [expr for _, expr in panel_queries(dashboard)]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", variable["definition"]))
    return exprs


def as_prometheus_sees_it(expr: str, job: str) -> str:
    """A panel's query with Grafana's variables filled in as Grafana would: all
    instances and models of ``job``, one-minute rate windows."""
    return (
        expr.replace("$__rate_interval", "1m")
        .replace('job=~"$job"', f'job=~"{job}"')
        .replace("$instance", ".*")
        .replace("$model", ".*")
    )
