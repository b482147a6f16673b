"""Points of a model per tag set, breaching or not, counted in SQL (DuckDB and
PostgreSQL alike): what an alert's label ranking needs (evaluation.alert_context),
one GROUP BY over the window instead of its rows."""

from __future__ import annotations

__all__ = ["BreachCountQueries"]

from datetime import datetime

from monitorx.store.queries import BreachRule
from monitorx.store.sql.session import SQLQueries


class BreachCountQueries(SQLQueries):
    """`TagBreachCounts.tag_breach_counts` over ``inference_metrics``."""

    async def tag_breach_counts(
        self, model_id: str, start: datetime, end: datetime, rule: BreachRule
    ) -> list[tuple[str | None, bool, int]]:
        settle = getattr(self, "_settled", None)
        if settle is not None:  # the embedded store's writer: flush what it holds
            await settle()
        params: list[object] = []
        if rule.latency_over is not None:
            breaching = "latency > %s"
            params.append(rule.latency_over)
        elif rule.since is not None:
            breaching = "ts >= %s"
            params.append(rule.since)
        else:
            breaching = "coalesce(error, false)"
        found = await self._sql.read(
            f"SELECT tags, {breaching} AS breaching, count(*) FROM inference_metrics "
            "WHERE project_id = %s AND model_id = %s AND ts >= %s AND ts < %s "
            "GROUP BY 1, 2",
            [*params, self._project, model_id, start, end],
        )
        return [(tags, bool(flag), int(n)) for tags, flag, n in found]
