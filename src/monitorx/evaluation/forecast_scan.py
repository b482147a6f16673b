"""Predictive alerts: warn before a series crosses its model's threshold.

A scheduler job (`ForecastScanner.scan_once`, every ``forecast_scan_interval_s``)
reads, for each model with thresholds, the last ``forecast_window_s`` of each
thresholded series in ``STEP_S`` buckets, fits Holt's linear trend
(`monitorx.analysis.forecast`) and, when the forecast crosses the threshold within
``forecast_horizon_s``, hands the engine a ``forecast`` alert (AlertType.FORECAST)
labelled ``{"series": ...}``: "GPU memory reaches 20,000 MB in about 2 h". Each
scan re-forecasts; the alert updates while the forecast holds and resolves by the
clear period once it no longer does (or once the series has crossed: the threshold
alert takes over).
"""

from __future__ import annotations

__all__ = ["FORECAST_SERIES", "ForecastScanner", "ForecastSeries", "eta_text", "forecast_breach"]

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from monitorx.alerting.engine import AlertEngine
from monitorx.analysis.forecast import Crossing, forecast_crossing, on_grid
from monitorx.core import AlertType, Breach, Clock, MetricName, Severity, Thresholds
from monitorx.store import Aggregation, TieredReads

logger = logging.getLogger("monitorx.forecast")

STEP_S = 300
# A crossing forecast sooner than this is high severity, else medium.
HIGH_SEVERITY_ETA_S = 3600.0


@dataclass(frozen=True, slots=True)
class ForecastSeries:
    """A thresholded series: the threshold field, how to read it, how to say it."""

    name: str
    threshold_field: str
    metric: MetricName
    agg: Aggregation
    words: str
    unit: str

    def format(self, value: float) -> str:
        if self.unit == "ratio":
            return f"{value:.1%}"
        if self.unit == "%":
            return f"{value:,.0f}%"
        return f"{value:,.0f} {self.unit}"


FORECAST_SERIES: tuple[ForecastSeries, ...] = (
    ForecastSeries("latency_p95", "latency_ms", MetricName.LATENCY, Aggregation.P95,
                   "latency p95", "ms"),
    ForecastSeries("error_rate", "error_rate", MetricName.ERROR_RATE, Aggregation.MEAN,
                   "error rate", "ratio"),
    ForecastSeries("gpu_memory_mb", "gpu_memory_mb", MetricName.GPU_MEMORY_MB, Aggregation.MEAN,
                   "GPU memory", "MB"),
    ForecastSeries("cpu_percent", "cpu_percent", MetricName.CPU_PERCENT, Aggregation.MEAN,
                   "CPU", "%"),
    ForecastSeries("memory_mb", "memory_mb", MetricName.MEMORY_MB, Aggregation.MEAN,
                   "memory", "MB"),
)  # fmt: skip


def eta_text(eta_s: float) -> str:
    """How soon, in words: "about 40 min" under an hour (to 5 minutes), else
    "about 2 h" (to half hours)."""
    if eta_s < 3600:
        return f"about {max(5, round(eta_s / 300) * 5)} min"  # never "about 0 min"
    hours = round(eta_s / 1800) / 2
    return f"about {hours:g} h"


def forecast_breach(
    model_id: str, series: ForecastSeries, crossing: Crossing, window_s: float, at: datetime
) -> Breach:
    """The alert a crossing raises: value is the series' smoothed level now."""
    return Breach(
        model_id=model_id,
        alert_type=AlertType.FORECAST,
        severity=Severity.HIGH if crossing.eta_s < HIGH_SEVERITY_ETA_S else Severity.MEDIUM,
        value=crossing.level,
        threshold=crossing.threshold,
        message=(
            f"{series.words} reaches {series.format(crossing.threshold)} in "
            f"{eta_text(crossing.eta_s)} on model {model_id} (now "
            f"{series.format(crossing.level)}, rising {series.format(crossing.slope_per_h)}"
            f" an hour; Holt's linear trend over the last {window_s / 3600:g} h)"
        ),
        observed_at=at,
        labels={"series": series.name},
    )


class ForecastScanner:
    """Forecasts every thresholded series of every model and warns of crossings."""

    def __init__(
        self,
        history: TieredReads,
        engine: AlertEngine,
        clock: Clock,
        window_s: float,
        horizon_s: float,
        series: Sequence[ForecastSeries] = FORECAST_SERIES,
    ) -> None:
        self._reads = history
        self._engine = engine
        self._clock = clock
        self._window_s = window_s
        self._horizon_s = horizon_s
        self._series = list(series)

    async def scan_once(self, thresholds: Mapping[str, Thresholds]) -> list[Breach]:
        """Forecast each model's thresholded series over the complete buckets; return
        the breaches handed to the engine."""
        now = self._clock.now()
        end_s = int(now.timestamp()) // STEP_S * STEP_S  # the last complete bucket ends here
        end = datetime.fromtimestamp(end_s, UTC)
        start = end - timedelta(seconds=self._window_s)
        breaches: list[Breach] = []
        for model_id, limits in thresholds.items():
            for series in self._series:
                limit = getattr(limits, series.threshold_field)
                if limit is None:
                    continue
                try:
                    crossing = await self._forecast(model_id, series, float(limit), start, end)
                except Exception:
                    logger.exception("forecast of %s on model %s failed", series.name, model_id)
                    continue
                if crossing is not None:
                    breaches.append(
                        forecast_breach(model_id, series, crossing, self._window_s, now)
                    )
        if breaches:
            await self._engine.process(breaches)
        return breaches

    async def _forecast(
        self, model_id: str, series: ForecastSeries, limit: float, start: datetime, end: datetime
    ) -> Crossing | None:
        result = await self._reads.aggregate(
            model_id, series.metric, series.agg, STEP_S, start, end
        )
        times = np.array([int(b.time.timestamp()) for b in result.buckets], dtype=np.int64)
        values = np.array([b.value for b in result.buckets], dtype=np.float64)
        keep = np.isfinite(values)
        times, values = on_grid(times[keep], values[keep], STEP_S)
        found = await asyncio.to_thread(
            forecast_crossing, times, values, limit, self._horizon_s, STEP_S
        )
        if not isinstance(found, Crossing):
            return None
        # Seen from now: later than the last bucket when the series has gone quiet.
        eta_s = found.crossing_time_s - int(end.timestamp())
        if eta_s < 0 or eta_s > self._horizon_s:
            return None
        return replace(found, eta_s=float(eta_s))
