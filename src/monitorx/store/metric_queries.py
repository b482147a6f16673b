"""Any metric by its name, read by label matchers and groups: an inference metric
(its tags and ``model_id`` are its labels) or a custom one.

`GET /metrics/query` and the window rules over labels both ask "this metric, these
matchers, grouped so, aggregated so, over this range"; this is where the name
decides which reader answers, so the two cannot disagree about it.
"""

from __future__ import annotations

__all__ = ["MetricQueries"]

from collections.abc import Sequence
from datetime import datetime

from monitorx.core import MetricName, NotFound
from monitorx.store.labelled_reads import InferenceByLabels
from monitorx.store.queries import QueryAggregation
from monitorx.store.samples.catalog import LabelMatcher
from monitorx.store.samples.service import CustomMetrics, SeriesResult

_INFERENCE_METRICS = frozenset(m.value for m in MetricName)


class MetricQueries:
    """Grouped reads of inference and custom metrics alike."""

    def __init__(self, inference: InferenceByLabels, custom: CustomMetrics) -> None:
        self._inference = inference
        self._custom = custom

    def exists(self, name: str) -> bool:
        """An inference metric, or a custom metric that has a series."""
        return name in _INFERENCE_METRICS or self._custom.catalog.has_metric(name)

    async def query(
        self,
        name: str,
        agg: QueryAggregation,
        interval_s: float,
        start: datetime,
        end: datetime,
        matchers: Sequence[LabelMatcher] = (),
        group_by: Sequence[str] = (),
        model_id: str | None = None,
    ) -> SeriesResult:
        """One series per group (sorted by labels), a point per non-empty bucket.
        ``model_id`` keeps the points of that model. `NotFound` for a name that is
        neither an inference metric nor a custom metric with a series."""
        if name in _INFERENCE_METRICS:
            return await self._inference.query(
                MetricName(name), agg, interval_s, start, end, matchers, group_by, model_id
            )
        if not self._custom.catalog.has_metric(name):
            raise NotFound(f"no metric named {name!r}; GET /api/v1/metrics/names lists them")
        if model_id:
            matchers = [*matchers, LabelMatcher("model_id", model_id)]
        return await self._custom.query(name, agg, interval_s, start, end, matchers, group_by)
