"""Model quality and data quality of logged records, on request and on a schedule.

Model quality is computed at query time from the records that carry a label
(joined by ``request_id``), the way percentiles are computed from raw points: the
records the store keeps are the series. The scheduled check (`tick`) evaluates,
for each model with a quality configuration, its metrics over the trailing
``interval`` and hands breaches of its thresholds to the alert engine; for each
model with data-quality rules, the data quality of the trailing rules ``window``
against the reference. An alert keeps firing while its breach is seen on each
tick, and resolves after the clear period once it is not.
"""

from __future__ import annotations

__all__ = ["DATA_QUALITY_RULES_KIND", "QUALITY_CONFIG_KIND", "QualityChecks", "QualitySeries"]

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.quality.data_quality import (
    DataQualityReport,
    DataQualityRules,
    analyze_data_quality,
    data_quality_breaches,
)
from monitorx.analysis.quality.model_quality import (
    QualityWindow,
    Task,
    infer_task,
    quality_by_window,
    quality_metrics,
)
from monitorx.analysis.quality.thresholds import QualityConfig, quality_breaches
from monitorx.core import Breach, Clock, Conflict, ValidationError
from monitorx.evaluation.model_documents import ModelDocuments
from monitorx.records.types import PREDICTION_COLUMN, Columns, LabelledSource
from monitorx.store import Storage

logger = logging.getLogger("monitorx.quality")

QUALITY_CONFIG_KIND = "quality_config"
DATA_QUALITY_RULES_KIND = "data_quality_rules"


@dataclass(frozen=True, slots=True)
class QualitySeries:
    """A model's quality per window over a range, and the task it was computed for."""

    task: Task | None
    interval_s: float
    windows: list[QualityWindow]

    def to_json(self, model_id: str) -> dict[str, object]:
        return {
            "model_id": model_id,
            "task": None if self.task is None else self.task.value,
            "interval": self.interval_s,
            "windows": [w.to_json(self.interval_s) for w in self.windows],
        }


class QualityChecks:
    """Model and data quality of one project's models."""

    def __init__(
        self, storage: Storage, clock: Clock, engine: AlertEngine, source: LabelledSource
    ) -> None:
        """Checks of the records ``source`` provides; their settings kept in ``storage``."""
        self._clock = clock
        self._engine = engine
        self._source = source
        self._configs = ModelDocuments(
            storage, QUALITY_CONFIG_KIND, QualityConfig.from_json, QualityConfig.to_json
        )
        self._rules = ModelDocuments(
            storage, DATA_QUALITY_RULES_KIND, DataQualityRules.from_json, DataQualityRules.to_json
        )

    async def load(self) -> None:
        """Read the stored quality configurations and data-quality rules."""
        await self._configs.load()
        await self._rules.load()

    @property
    def configs(self) -> ModelDocuments[QualityConfig]:
        return self._configs

    @property
    def rules(self) -> ModelDocuments[DataQualityRules]:
        return self._rules

    async def series(
        self, model_id: str, start: datetime, end: datetime, interval_s: float
    ) -> QualitySeries:
        """Quality per window of ``interval_s`` in ``[start, end)``; the task is the
        model's configured one, else inferred from the labels of the whole range."""
        rows = await self._source.labelled_rows(model_id, start, end)
        config = self._configs.get(model_id)
        task = config.task if config is not None else None
        if len(rows) == 0:
            return QualitySeries(task, interval_s, [])
        task = task or infer_task(rows.labels)
        windows = await asyncio.to_thread(
            quality_by_window, rows.ts_us, rows.labels, rows.predictions, interval_s, task
        )
        return QualitySeries(task, interval_s, windows)

    async def data_quality(self, model_id: str, current: Columns) -> DataQualityReport:
        """Data quality of ``current`` against the model's reference; with rules
        stored for the model, their breaches are handed to the alert engine. The
        ``prediction`` column is compared only when the reference has one (it is
        never an unexpected feature)."""
        reference = await self._source.reference_columns(model_id)
        if reference is None:
            raise Conflict(
                f"model {model_id!r} has no reference set; "
                f"PUT /api/v1/models/{model_id}/reference first"
            )
        if PREDICTION_COLUMN not in reference:
            current = {k: v for k, v in current.items() if k != PREDICTION_COLUMN}
        report = await asyncio.to_thread(analyze_data_quality, model_id, reference, current)
        rules = self._rules.get(model_id)
        if rules is not None:
            breaches = data_quality_breaches(report, rules, self._clock.now())
            if breaches:
                await self._engine.process(breaches)
        return report

    async def window_data_quality(
        self, model_id: str, start: datetime, end: datetime
    ) -> DataQualityReport:
        """`data_quality` of the model's records in ``[start, end)``."""
        current = await self._source.window_columns(model_id, start, end)
        return await self.data_quality(model_id, current)

    async def tick(self) -> None:
        """The scheduled check (see the module docstring)."""
        breaches: list[Breach] = []
        for model_id, config in self._configs.items():
            if config.thresholds:
                try:
                    breaches += await self._model_quality(model_id, config)
                except ValidationError as exc:  # labels that do not fit the configured task
                    logger.warning("quality check of model %s skipped: %s", model_id, exc)
                except Exception:
                    logger.exception("quality check of model %s failed", model_id)
        for model_id, rules in self._rules.items():
            try:
                end = self._clock.now()
                start = end - timedelta(seconds=rules.window_s)
                current = await self._source.window_columns(model_id, start, end)
                if max((len(c) for c in current.values()), default=0) == 0:
                    continue
                await self.data_quality(model_id, current)
            except Conflict:
                continue  # no reference yet: nothing to compare with
            except Exception:
                logger.exception("data quality check of model %s failed", model_id)
        if breaches:
            await self._engine.process(breaches)

    async def _model_quality(self, model_id: str, config: QualityConfig) -> list[Breach]:
        end = self._clock.now()
        start = end - timedelta(seconds=config.interval_s)
        rows = await self._source.labelled_rows(model_id, start, end)
        if len(rows) == 0:
            return []
        task = config.task or infer_task(rows.labels)
        metrics = await asyncio.to_thread(quality_metrics, task, rows.labels, rows.predictions)
        window = QualityWindow(start, len(rows), metrics)
        return quality_breaches(model_id, window, config.interval_s, config.thresholds, end)
